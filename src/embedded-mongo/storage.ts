/**
 * The catalog: databases → collections, created implicitly on first write as MongoDB does,
 * plus the server-global cursor table (getMore/killCursors may come on any connection).
 */
import { randomBytes } from "node:crypto";
import { Long } from "bson";
import { Collection, type WriteChange } from "./collection.js";
import type { IndexSpec } from "./indexes.js";
import { MongoServerError } from "./errors.js";
import type { Doc } from "./values.js";

/**
 * One applied change, reported after it is in memory. Documents are the stored objects (never
 * changed in place, so listeners may keep them without copying). This is the single hook for
 * everything that must see every write: the journal (durability), and later change streams.
 */
export type StorageChange =
  | { op: "insert"; db: string; coll: string; doc: Doc }
  | { op: "update"; db: string; coll: string; before: Doc; after: Doc }
  | { op: "delete"; db: string; coll: string; doc: Doc }
  | { op: "truncate"; db: string; coll: string }
  | { op: "create"; db: string; coll: string; options: Doc }
  | { op: "options"; db: string; coll: string; options: Doc }
  | { op: "drop"; db: string; coll: string }
  | { op: "rename"; db: string; coll: string; toDb: string; to: string }
  | { op: "createIndex"; db: string; coll: string; spec: IndexSpec }
  | { op: "dropIndex"; db: string; coll: string; name: string }
  | { op: "dropDatabase"; db: string }
  | { op: "clear" };

export interface StorageListener {
  /** Called synchronously after each change is applied in memory. */
  change(change: StorageChange): void;
  /** Optional: the changes between begin() and end() belong together (one transaction). */
  begin?(): void;
  end?(): void;
}

export class Storage {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private readonly listeners: StorageListener[] = [];
  private bypassing = false;
  private readonly emit = (change: StorageChange): void => {
    for (const l of this.listeners) l.change(change);
  };
  private readonly hooks = { emit: this.emit, validating: () => !this.bypassing };

  /**
   * Runs `fn` (one synchronous command) with document validation off: the command's
   * bypassDocumentValidation. Commands run to completion before the next starts, so the flag
   * never leaks into another client's command.
   */
  withoutValidation<T>(fn: () => T): T {
    const was = this.bypassing;
    this.bypassing = true;
    try {
      return fn();
    } finally {
      this.bypassing = was;
    }
  }

  /** Adds a listener for every applied change; returns a function that removes it. */
  addListener(listener: StorageListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Runs `fn` so listeners see its changes as one unit (the journal writes them as one record,
   * so a crash keeps all or none). Changes are still applied one by one, in memory, by `fn`.
   */
  atomically<T>(fn: () => T): T {
    for (const l of this.listeners) l.begin?.();
    try {
      return fn();
    } finally {
      for (const l of this.listeners) l.end?.();
    }
  }
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
    let coll = this.dbs.get(db)?.get(name);
    if (!coll) {
      // Constructed first: bad options (a validator that does not compile) create nothing.
      const created = (coll = new Collection(db, name, options, this.hooks));
      created.observer = (change) => this.onWrite?.(created, change);
      let colls = this.dbs.get(db);
      if (!colls) this.dbs.set(db, (colls = new Map()));
      colls.set(name, coll);
      this.emit({ op: "create", db, coll: name, options });
    }
    return coll;
  }

  drop(db: string, name: string): boolean {
    const colls = this.dbs.get(db);
    if (!colls?.delete(name)) return false;
    if (colls.size === 0) this.dbs.delete(db);
    this.emit({ op: "drop", db, coll: name });
    return true;
  }

  /** Moves a collection (to another database too); the target must not exist. */
  rename(db: string, from: string, to: string, toDb = db): void {
    const colls = this.dbs.get(db);
    const coll = colls?.get(from);
    if (!colls || !coll) throw new MongoServerError("NamespaceNotFound", "source namespace does not exist");
    validateCollectionName(to);
    if (this.get(toDb, to)) throw new MongoServerError("NamespaceExists", "target namespace exists");
    colls.delete(from);
    if (colls.size === 0) this.dbs.delete(db);
    let target = this.dbs.get(toDb);
    if (!target) this.dbs.set(toDb, (target = new Map()));
    coll.moveTo(toDb, to);
    target.set(to, coll);
    this.emit({ op: "rename", db, coll: from, toDb, to });
  }

  dropDatabase(db: string): void {
    if (this.dbs.delete(db)) this.emit({ op: "dropDatabase", db });
  }

  clear(): void {
    this.dbs.clear();
    this.emit({ op: "clear" });
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
