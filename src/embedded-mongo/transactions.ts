/**
 * Multi-document transactions, at the command level. A transaction reads and writes private
 * views of the collections it touches, each as of the transaction's start (filled on demand
 * from the real collection and the change log, see txn-view.ts), so it sees its own writes and
 * nothing committed after it began.
 * Commit replays the final state of every document it wrote through the ordinary collection
 * write methods, so the change log (and anything else watching writes) sees normal writes.
 *
 * Conflicts are found as MongoDB finds them, at write time: writing a document that another
 * open transaction wrote, or that was written outside after this transaction's snapshot, is a
 * WriteConflict (112, TransientTransactionError) and aborts the transaction. A write outside
 * any transaction that would touch a document an open transaction wrote waits until that
 * transaction commits or aborts (or its own maxTimeMS passes), as MongoDB's does: it never
 * overwrites uncommitted state (see `holder` and commands/index.ts). The one case still found
 * only at commit: an outside write that made a unique key the transaction also wrote taken.
 */
import { Long as BsonLong } from "bson";
import type { ChangeLog } from "./changes.js";
import { Collection, type WriteChange } from "./collection.js";
import { MongoServerError, transientError } from "./errors.js";
import type { Storage } from "./storage.js";
import { ViewCollection } from "./txn-view.js";
import { type Doc, cloneDoc, keyOf, sameKey } from "./values.js";

/** transactionLifetimeLimitSeconds: an open transaction older than this is aborted. */
export const TRANSACTION_LIFETIME_MS = 60_000;

interface WriteRecord {
  id: unknown;
  /** The document as of the snapshot (null: did not exist). */
  before: Doc | null;
  /** Whether any write to it was a whole-document replacement (the change event type). */
  replaced: boolean;
}

interface View {
  db: string;
  name: string;
  coll: Collection;
  writes: Map<string, WriteRecord>;
}

export class Transaction {
  state: "active" | "committed" | "aborted" = "active";
  readonly views = new Map<string, View>();
  readonly startedAt = Date.now();
  /** Resolves when the transaction commits or aborts (writes waiting on it retry then). */
  readonly ended: Promise<void>;
  private settle!: () => void;

  constructor(
    readonly lsid: Doc,
    readonly txnNumber: number,
    readonly startSeq: number,
  ) {
    this.ended = new Promise((resolve) => (this.settle = resolve));
  }

  finish(state: "committed" | "aborted"): void {
    this.state = state;
    this.settle();
  }
}

export class SessionTable {
  /** The latest transaction of each session. */
  private readonly txns = new Map<string, Transaction>();
  /** ns + docKey → the open transaction that wrote it. */
  private readonly held = new Map<string, Transaction>();
  /** ns → how many of its documents open transactions hold (a write elsewhere checks nothing). */
  private readonly heldPerNs = new Map<string, number>();

  constructor(
    private readonly storage: Storage,
    private readonly changes: ChangeLog,
  ) {}

  static keyOf(lsid: unknown): string {
    return keyOf((lsid as Doc | null)?.id ?? lsid);
  }

  current(lsid: Doc): Transaction | undefined {
    return this.txns.get(SessionTable.keyOf(lsid));
  }

  start(lsid: Doc, txnNumber: number): Transaction {
    const key = SessionTable.keyOf(lsid);
    const prev = this.txns.get(key);
    if (prev && prev.txnNumber >= txnNumber) {
      if (prev.txnNumber === txnNumber) {
        throw new MongoServerError("ConflictingOperationInProgress", `Transaction ${txnNumber} has already been started on this session`);
      }
      throw new MongoServerError(
        "TransactionTooOld",
        `Cannot start transaction ${txnNumber} on session because a newer transaction ${prev.txnNumber} has already started`,
      );
    }
    if (prev?.state === "active") this.abort(prev);
    const txn = new Transaction(lsid, txnNumber, this.changes.seq);
    this.txns.set(key, txn);
    return txn;
  }

  /** The storage a command of this transaction works on: its views. */
  storageFor(txn: Transaction): Storage {
    return transactionStorage(this, txn);
  }

  /**
   * The view of one collection as of the snapshot, made on first use. It starts with only the
   * documents changed since the snapshot and pulls in the rest on demand (txn-view.ts), so a
   * transaction costs what it touches, not the collection's size.
   */
  view(txn: Transaction, db: string, name: string, create: boolean): Collection | undefined {
    const ns = `${db}.${name}`;
    const existing = txn.views.get(ns);
    if (existing) return existing.coll;
    const real = this.storage.get(db, name);
    if (!real && !create) return undefined;
    const coll = new ViewCollection(db, name, real ? real.options : {}, real, () => this.storage.get(db, name), this.changes, txn.startSeq);
    const view: View = { db, name, coll, writes: new Map() };
    coll.observer = (change) => this.onViewWrite(txn, view, change);
    txn.views.set(ns, view);
    return coll;
  }

  private onViewWrite(txn: Transaction, view: View, change: WriteChange): void {
    const doc = change.after ?? change.before!;
    const docKey = keyOf(doc._id);
    const hold = `${view.db}.${view.name}\u0000${docKey}`;
    const holder = this.held.get(hold);
    if ((holder && holder !== txn) || this.changes.lastWriteSeq(view.db, view.name, docKey) > txn.startSeq) {
      throw transientError(
        "WriteConflict",
        "Caused by :: Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.",
      );
    }
    if (!holder) {
      this.held.set(hold, txn);
      const ns = `${view.db}.${view.name}`;
      this.heldPerNs.set(ns, (this.heldPerNs.get(ns) ?? 0) + 1);
    }
    const rec = view.writes.get(docKey);
    if (rec) rec.replaced ||= change.op === "replace";
    else view.writes.set(docKey, { id: doc._id, before: change.before, replaced: change.op === "replace" });
  }

  /** Whether open transactions hold any document of this namespace. */
  holdsIn(db: string, coll: string): boolean {
    return (this.heldPerNs.get(`${db}.${coll}`) ?? 0) > 0;
  }

  /** The open transaction that wrote this document, if one did. */
  holder(db: string, coll: string, id: unknown): Transaction | undefined {
    return this.held.get(`${db}.${coll}\u0000${keyOf(id)}`);
  }

  abort(txn: Transaction): void {
    if (txn.state !== "active") return;
    this.release(txn);
    txn.finish("aborted");
  }

  private release(txn: Transaction): void {
    for (const view of txn.views.values()) {
      const ns = `${view.db}.${view.name}`;
      for (const docKey of view.writes.keys()) {
        const hold = `${ns}\u0000${docKey}`;
        if (this.held.get(hold) === txn) {
          this.held.delete(hold);
          const left = (this.heldPerNs.get(ns) ?? 1) - 1;
          if (left > 0) this.heldPerNs.set(ns, left);
          else this.heldPerNs.delete(ns);
        }
      }
    }
    txn.views.clear();
  }

  /** Applies every written document's final state to the real collections: all or nothing. */
  commit(txn: Transaction): void {
    const conflict = (): MongoServerError => {
      this.abort(txn);
      return transientError(
        "WriteConflict",
        "Write conflict during commit: a document this transaction wrote was changed outside it. Please retry your transaction.",
      );
    };
    // History this transaction started before has aged out: its conflicts can no longer be checked.
    const wrote = [...txn.views.values()].some((v) => v.writes.size > 0);
    if (wrote && this.changes.oldestSeq > txn.startSeq + 1 && this.changes.seq > txn.startSeq) throw conflict();
    for (const view of txn.views.values()) {
      for (const docKey of view.writes.keys()) {
        if (this.changes.lastWriteSeq(view.db, view.name, docKey) > txn.startSeq) throw conflict();
      }
    }
    const undo: (() => void)[] = [];
    this.changes.beginBatch(txn.lsid, BsonLong.fromNumber(txn.txnNumber));
    try {
      // One journal record for the whole commit: after a crash all of it is there or none.
      this.storage.atomically(() => {
        for (const view of txn.views.values()) {
          if (view.writes.size === 0) continue;
          const real = this.storage.ensure(view.db, view.name);
          for (const rec of view.writes.values()) {
            const filter = { _id: rec.id };
            const final = view.coll.query(filter).docs[0] ?? null;
            const current = real.query(filter).docs[0] ?? null;
            if (!current && final) {
              real.insert(cloneDoc(final));
              undo.push(() => real.delete(filter, { limit: 1 }));
            } else if (current && !final) {
              real.delete(filter, { limit: 1 });
              undo.push(() => real.insert(current));
            } else if (current && final && !sameKey(current, final)) {
              // The view is dropped after the commit: its final version becomes the stored one.
              real.install(current, final, rec.replaced ? "replace" : "update");
              undo.push(() => real.update(filter, { kind: "replacement", doc: cloneDoc(current) }, {}));
            }
          }
        }
      });
    } catch (err) {
      for (const u of undo.reverse()) {
        try {
          u();
        } catch {
          // Best effort: the undo restores documents this commit itself just wrote.
        }
      }
      this.changes.endBatch(false);
      if (err instanceof MongoServerError && err.code === 11000) throw conflict();
      this.abort(txn);
      throw err;
    }
    this.changes.endBatch(true);
    this.release(txn);
    txn.finish("committed");
  }

  /** endSessions: open transactions of those sessions are aborted. */
  endSessions(lsids: unknown[]): void {
    for (const lsid of lsids) {
      const key = SessionTable.keyOf(lsid);
      const txn = this.txns.get(key);
      if (txn) this.abort(txn);
      this.txns.delete(key);
    }
  }

  /** Aborts transactions open longer than the lifetime limit. */
  reap(now = Date.now(), lifetimeMs = TRANSACTION_LIFETIME_MS): void {
    for (const txn of this.txns.values()) if (txn.state === "active" && now - txn.startedAt > lifetimeMs) this.abort(txn);
  }

  clear(): void {
    for (const txn of this.txns.values()) this.abort(txn);
    this.txns.clear();
  }
}

/**
 * The catalog as a transaction's commands see it: get/ensure answer with its views. Only the
 * commands a transaction may run use it, and they only call these two methods.
 */
function transactionStorage(table: SessionTable, txn: Transaction): Storage {
  const view = {
    get: (db: string, name: string): Collection | undefined => table.view(txn, db, name, false),
    ensure: (db: string, name: string): Collection => table.view(txn, db, name, true)!,
  };
  return view as unknown as Storage;
}
