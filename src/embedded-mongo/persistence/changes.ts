/**
 * Storage changes as journal record bodies, and their replay. A document change stores the
 * whole new document (not the update that made it), so replay never re-runs update operators
 * and gives exactly the stored state back.
 */
import { MongoServerError } from "../errors.js";
import type { IndexSpec } from "../indexes.js";
import type { Storage, StorageChange } from "../storage.js";
import type { Doc } from "../values.js";

export function changeToRecord(c: StorageChange): Doc {
  switch (c.op) {
    case "insert":
      return { o: "p", d: c.db, c: c.coll, x: c.doc };
    case "update":
      return { o: "p", d: c.db, c: c.coll, x: c.after };
    case "delete":
      return { o: "d", d: c.db, c: c.coll, i: c.doc._id };
    case "truncate":
      return { o: "t", d: c.db, c: c.coll };
    case "create":
      return { o: "c", d: c.db, c: c.coll, opt: c.options };
    case "options":
      return { o: "m", d: c.db, c: c.coll, opt: c.options };
    case "drop":
      return { o: "x", d: c.db, c: c.coll };
    case "rename":
      return { o: "r", d: c.db, c: c.coll, td: c.toDb, tc: c.to };
    case "createIndex":
      return { o: "ci", d: c.db, c: c.coll, s: c.spec };
    case "dropIndex":
      return { o: "di", d: c.db, c: c.coll, n: c.name };
    case "dropDatabase":
      return { o: "xd", d: c.db };
    case "clear":
      return { o: "xa" };
  }
}

/** Applies one journal record to the storage (no listeners are attached during recovery). */
export function applyRecord(storage: Storage, r: Doc): void {
  const db = r.d as string;
  const name = r.c as string;
  const coll = () => storage.ensure(db, name);
  switch (r.o) {
    case "b":
      for (const op of r.ops as Doc[]) applyRecord(storage, op);
      return;
    case "p":
      coll().restorePut(r.x as Doc);
      return;
    case "d":
      storage.get(db, name)?.restoreDelete(r.i);
      return;
    case "t":
      storage.get(db, name)?.clear();
      return;
    case "c":
      storage.ensure(db, name, (r.opt as Doc) ?? {});
      return;
    case "m":
      coll().setOptions((r.opt as Doc) ?? {});
      return;
    case "x":
      storage.drop(db, name);
      return;
    case "r":
      storage.rename(db, name, r.tc as string, r.td as string);
      return;
    case "ci":
      coll().createIndex(r.s as IndexSpec);
      return;
    case "di":
      coll().dropIndex(r.n as string);
      return;
    case "xd":
      storage.dropDatabase(db);
      return;
    case "xa":
      storage.clear();
      return;
    default:
      throw new MongoServerError("InternalError", `unknown journal record type ${JSON.stringify(r.o)}`);
  }
}
