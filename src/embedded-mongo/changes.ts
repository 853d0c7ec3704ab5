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

export interface ChangeEntry {
  seq: number;
  clusterTime: Timestamp;
  wallTime: Date;
  db: string;
  coll: string;
  op: ChangeOp;
  before: Doc | null;
  after: Doc | null;
  /** rename: the new namespace. */
  to?: { db: string; coll: string };
  /** Whether the collection keeps pre-images (changeStreamPreAndPostImages) for this write. */
  preImage?: boolean;
  /** Set when the write is part of a committed transaction. */
  lsid?: Doc;
  txnNumber?: Long;
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
  /** ns + docKey → seq of its last write: transactions' conflict check. */
  private readonly lastWrite = new Map<string, number>();
  private waiters = new Set<() => void>();
  /** While a transaction commits: its entries wait here, all published or none. */
  private batch: { entries: Omit<ChangeEntry, "seq" | "clusterTime" | "wallTime">[]; lsid: Doc; txnNumber: Long } | null = null;

  constructor(private readonly options: ChangeLogOptions) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** The sequence number of the oldest entry still held (lastSeq + 1 when empty). */
  get oldestSeq(): number {
    return this.entries.length > this.head ? this.entries[this.head].seq : this.lastSeq + 1;
  }

  setMaxEntries(n: number): void {
    this.options.maxEntries = Math.max(1, Math.floor(n));
    this.trim();
  }

  /** A cluster time after every one handed out before (seconds + increment). */
  private nextClusterTime(): Timestamp {
    const t = Math.floor(Date.now() / 1000);
    if (t > this.lastT) {
      this.lastT = t;
      this.lastI = 1;
    } else {
      this.lastI++;
    }
    return new Timestamp({ t: this.lastT, i: this.lastI });
  }

  get clusterTime(): Timestamp {
    return new Timestamp({ t: this.lastT || Math.floor(Date.now() / 1000), i: this.lastI });
  }

  record(entry: Omit<ChangeEntry, "seq" | "clusterTime" | "wallTime">): void {
    if (this.batch) {
      this.batch.entries.push(entry);
      return;
    }
    this.publish([entry]);
  }

  private publish(list: Omit<ChangeEntry, "seq" | "clusterTime" | "wallTime">[], txn?: { lsid: Doc; txnNumber: Long }): void {
    if (!list.length) return;
    // A transaction's writes share one cluster time, as in MongoDB's oplog applyOps entry.
    const clusterTime = this.nextClusterTime();
    const wallTime = new Date();
    for (const e of list) {
      // Every field written in one fixed order: entries built by spreading came out with a
      // hidden class (V8 map + descriptors, ~300 bytes) of their own each.
      const full: ChangeEntry = {
        seq: ++this.lastSeq, clusterTime, wallTime, db: e.db, coll: e.coll, op: e.op, before: e.before, after: e.after,
        to: e.to, preImage: e.preImage, lsid: txn?.lsid, txnNumber: txn?.txnNumber,
      };
      this.entries.push(full);
      const doc = e.after ?? e.before;
      if (doc) this.lastWrite.set(writeKey(e.db, e.coll, keyOf(doc._id)), full.seq);
    }
    this.trim();
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
        const k = writeKey(old.db, old.coll, keyOf(doc._id));
        if (this.lastWrite.get(k) === old.seq) this.lastWrite.delete(k);
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
    return this.lastWrite.get(writeKey(db, coll, docKey)) ?? 0;
  }

  /** The first entry at or after a cluster time, as a seq to resume after. */
  seqAtOrAfter(time: Timestamp): number {
    for (let i = this.head; i < this.entries.length; i++) {
      if (this.entries[i].clusterTime.comp(time) >= 0) return this.entries[i].seq - 1;
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
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.lastWrite.clear();
  }
}

function writeKey(db: string, coll: string, docKey: string): string {
  return `${db}.${coll}\u0000${docKey}`;
}
