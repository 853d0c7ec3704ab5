/**
 * The change log: every applied write, in order, with its pre- and post-image. It is fed from
 * one point (Storage.onWrite, i.e. Collection.observer) and read by change streams and by
 * transactions (to rebuild a collection as of their snapshot and to detect write conflicts).
 * It is bounded: past `maxEntries` the oldest entries are dropped, and a change stream or a
 * snapshot that needs them fails as MongoDB does when the oplog has rolled over.
 * Stored documents are never changed in place, so images are shared references, not copies.
 */
import { Timestamp, type Long } from "bson";
import type { WriteChange } from "./collection.js";
import { type Doc, keyOf } from "./values.js";

export type ChangeOp = WriteChange["op"] | "drop" | "rename" | "dropDatabase";

/** What a writer records; the log adds the sequence number and times. */
export interface ChangeInput {
  db: string;
  coll: string;
  op: ChangeOp;
  before: Doc | null;
  after: Doc | null;
  /** rename: the new namespace. */
  to?: { db: string; coll: string };
  /** Whether the collection keeps pre-images (changeStreamPreAndPostImages) for this write. */
  preImage?: boolean;
}

/**
 * One logged write. Every insert passes through here and an entry lives until `maxEntries`
 * newer ones push it out, so its size is per-write memory: the times are kept as numbers (a
 * Timestamp and a Date each were ~150 bytes) and made into BSON values only when read, and every
 * entry has the same fields in the same order (one V8 hidden class for all).
 */
export class ChangeEntry {
  constructor(
    readonly seq: number,
    /** Cluster time: seconds and increment. */
    private readonly t: number,
    private readonly i: number,
    private readonly wallMs: number,
    readonly db: string,
    readonly coll: string,
    readonly op: ChangeOp,
    readonly before: Doc | null,
    readonly after: Doc | null,
    /** rename: the new namespace. */
    readonly to: { db: string; coll: string } | undefined,
    /** Whether the collection keeps pre-images (changeStreamPreAndPostImages) for this write. */
    readonly preImage: boolean | undefined,
    /** Set when the write is part of a committed transaction. */
    readonly lsid: Doc | undefined,
    readonly txnNumber: Long | undefined,
  ) {}

  get clusterTime(): Timestamp {
    return new Timestamp({ t: this.t, i: this.i });
  }

  get wallTime(): Date {
    return new Date(this.wallMs);
  }

  /** Whether this entry's cluster time is at or after (t, i). */
  atOrAfter(t: number, i: number): boolean {
    return this.t > t || (this.t === t && this.i >= i);
  }
}

export interface ChangeLogOptions {
  /** How many entries are kept (MongoDB: the oplog size). */
  maxEntries: number;
}

/** A resume token's `_data`: the entry's sequence number, hex, behind a fixed tag. */
export function resumeToken(seq: number): { _data: string } {
  return { _data: "82" + seq.toString(16).toUpperCase().padStart(16, "0") };
}

export function seqOfToken(token: unknown): number | null {
  const data = (token as Doc | null)?._data;
  if (typeof data !== "string" || !/^8[23][0-9A-Fa-f]{16}$/.test(data)) return null;
  return parseInt(data.slice(2), 16);
}

export class ChangeLog {
  private entries: ChangeEntry[] = [];
  private head = 0;
  private lastSeq = 0;
  private lastT = 0;
  private lastI = 0;
  /**
   * ns → docKey → seq of its last write: transactions' conflict check. Two levels, so no key
   * string is built per write (the document key is the one the collection already holds).
   */
  private readonly lastWrite = new Map<string, Map<string, number>>();
  private waiters = new Set<() => void>();
  /** While a transaction commits: its entries wait here, all published or none. */
  private batch: { entries: ChangeInput[]; lsid: Doc; txnNumber: Long } | null = null;

  constructor(private readonly options: ChangeLogOptions) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** The sequence number of the oldest entry still held (lastSeq + 1 when empty). */
  get oldestSeq(): number {
    return this.entries.length > this.head ? this.entries[this.head].seq : this.lastSeq + 1;
  }

  /** Advances to a cluster time after every one handed out before (seconds + increment). */
  private nextClusterTime(): void {
    const t = Math.floor(Date.now() / 1000);
    if (t > this.lastT) {
      this.lastT = t;
      this.lastI = 1;
    } else {
      this.lastI++;
    }
  }

  get clusterTime(): Timestamp {
    return new Timestamp({ t: this.lastT || Math.floor(Date.now() / 1000), i: this.lastI });
  }

  record(entry: ChangeInput): void {
    if (this.batch) {
      this.batch.entries.push(entry);
      return;
    }
    this.publish([entry]);
  }

  private publish(list: ChangeInput[], txn?: { lsid: Doc; txnNumber: Long }): void {
    if (!list.length) return;
    // A transaction's writes share one cluster time, as in MongoDB's oplog applyOps entry.
    this.nextClusterTime();
    const t = this.lastT;
    const i = this.lastI;
    const wallMs = Date.now();
    for (const e of list) {
      const full = new ChangeEntry(++this.lastSeq, t, i, wallMs, e.db, e.coll, e.op, e.before, e.after, e.to, e.preImage, txn?.lsid, txn?.txnNumber);
      this.entries.push(full);
      const doc = e.after ?? e.before;
      if (doc) this.setLastWrite(e.db, e.coll, keyOf(doc._id), full.seq);
    }
    this.trim();
    this.wakeAll();
  }

  /** Wakes every waiting getMore (a write, or the server stopping: no wait outlives it). */
  wakeAll(): void {
    if (this.waiters.size === 0) return;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  private trim(): void {
    while (this.entries.length - this.head > this.options.maxEntries) {
      const old = this.entries[this.head];
      // The slot is cleared, not only skipped: until the array is compacted below, a dropped
      // entry would otherwise keep its images (up to maxEntries more documents) alive.
      (this.entries as (ChangeEntry | undefined)[])[this.head++] = undefined;
      const doc = old.after ?? old.before;
      if (doc) {
        const byKey = this.lastWrite.get(nsKey(old.db, old.coll));
        const k = keyOf(doc._id);
        if (byKey?.get(k) === old.seq) {
          byKey.delete(k);
          if (byKey.size === 0) this.lastWrite.delete(nsKey(old.db, old.coll));
        }
      }
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries with seq > after, oldest first. */
  since(after: number): ChangeEntry[] {
    const start = this.head + Math.max(0, after + 1 - this.oldestSeq);
    return this.entries.slice(Math.max(start, this.head));
  }

  /** The seq of the last write to a document, or 0 when none is held. */
  lastWriteSeq(db: string, coll: string, docKey: string): number {
    return this.lastWrite.get(nsKey(db, coll))?.get(docKey) ?? 0;
  }

  private setLastWrite(db: string, coll: string, docKey: string, seq: number): void {
    const ns = nsKey(db, coll);
    let byKey = this.lastWrite.get(ns);
    if (!byKey) this.lastWrite.set(ns, (byKey = new Map()));
    byKey.set(docKey, seq);
  }

  /** The first entry at or after a cluster time, as a seq to resume after. */
  seqAtOrAfter(time: Timestamp): number {
    const t = time.t;
    const inc = time.i;
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.entries[i].atOrAfter(t, inc)) return this.entries[i].seq - 1;
    }
    return this.lastSeq;
  }

  /** Collects a transaction's writes until endBatch: published together, or dropped. */
  beginBatch(lsid: Doc, txnNumber: Long): void {
    this.batch = { entries: [], lsid, txnNumber };
  }

  endBatch(publish: boolean): void {
    const batch = this.batch;
    this.batch = null;
    if (publish && batch) this.publish(batch.entries, { lsid: batch.lsid, txnNumber: batch.txnNumber });
  }

  /** Resolves at the next published entry, or after ms. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      // Unref'd: a waiting change stream never keeps the process alive.
      const timer = setTimeout(done, Math.max(0, ms)).unref();
      this.waiters.add(done);
    });
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.lastWrite.clear();
    this.wakeAll();
  }
}

function nsKey(db: string, coll: string): string {
  return `${db}.${coll}`;
}
