/**
 * The catalog: databases → collections, created implicitly on first write as MongoDB does,
 * plus the server-global cursor table (getMore/killCursors may come on any connection).
 */
import { randomBytes } from "node:crypto";
import { Long } from "bson";
import { Collection, type WriteChange } from "./collection.js";
import { MongoServerError } from "./errors.js";
import type { Doc } from "./values.js";

export class Storage {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  /** Told of every document write in a catalogued collection (the change log). */
  onWrite?: (coll: Collection, change: WriteChange) => void;

  databaseNames(): string[] {
    return [...this.dbs.keys()];
  }

  collections(db: string): Collection[] {
    return [...(this.dbs.get(db)?.values() ?? [])];
  }

  get(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** Returns the collection, creating it (and its database) when a write needs it. */
  ensure(db: string, name: string, options: Doc = {}): Collection {
    validateCollectionName(name);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    let coll = colls.get(name);
    if (!coll) {
      const created = (coll = new Collection(db, name, options));
      created.observer = (change) => this.onWrite?.(created, change);
      colls.set(name, created);
    }
    return coll;
  }

  drop(db: string, name: string): boolean {
    const colls = this.dbs.get(db);
    if (!colls?.delete(name)) return false;
    if (colls.size === 0) this.dbs.delete(db);
    return true;
  }

  rename(db: string, from: string, to: string): void {
    const colls = this.dbs.get(db);
    const coll = colls?.get(from);
    if (!colls || !coll) throw new MongoServerError("NamespaceNotFound", "source namespace does not exist");
    colls.delete(from);
    colls.set(to, coll);
  }

  dropDatabase(db: string): void {
    this.dbs.delete(db);
  }

  clear(): void {
    this.dbs.clear();
  }

  sweepExpired(now = Date.now()): number {
    let removed = 0;
    for (const colls of this.dbs.values()) for (const c of colls.values()) removed += c.sweepExpired(now);
    return removed;
  }
}

function validateCollectionName(name: string): void {
  if (!name || name.includes("$") || name.includes("\0") || name.startsWith(".")) {
    throw new MongoServerError("InvalidNamespace", `Invalid collection name: ${name}`);
  }
}

/** An open cursor: the remaining documents of a query, already computed. */
export interface Cursor {
  id: Long;
  ns: string;
  docs: Doc[];
  position: number;
  lastUsed: number;
}

/** Cursors global to the server; ids are random positive Int64 values. */
export class CursorTable {
  private readonly cursors = new Map<string, Cursor>();

  open(ns: string, docs: Doc[], position: number): Cursor {
    let id: Long;
    do {
      id = Long.fromBytesLE([...randomBytes(8)]).and(Long.MAX_VALUE);
    } while (id.isZero() || this.cursors.has(id.toString()));
    const cursor = { id, ns, docs, position, lastUsed: Date.now() };
    this.cursors.set(id.toString(), cursor);
    return cursor;
  }

  get(id: Long | number | bigint): Cursor | undefined {
    const c = this.cursors.get(String(id));
    if (c) c.lastUsed = Date.now();
    return c;
  }

  close(id: Long | number | bigint): boolean {
    return this.cursors.delete(String(id));
  }

  get size(): number {
    return this.cursors.size;
  }

  /** Closes cursors idle longer than the timeout (MongoDB's default is 10 minutes). */
  reap(idleMs: number, now = Date.now()): void {
    for (const [k, c] of this.cursors) if (now - c.lastUsed > idleMs) this.cursors.delete(k);
  }

  clear(): void {
    this.cursors.clear();
  }
}
