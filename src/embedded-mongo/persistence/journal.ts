/**
 * The journal: a StorageListener that turns every applied change into an append-only record,
 * and the group commit that makes a write's reply wait until its record is on disk.
 *
 * - record: each change is encoded at once (synchronously, while the server handles the
 *   command) and queued; `appended` counts records.
 * - group commit: one flush loop writes everything queued so far with one writev and one
 *   fdatasync; records queued meanwhile share the next round. `durable(seq)` resolves when
 *   record `seq` is synced, which is what the server waits for before replying.
 * - rotation: when the current journal file outgrows its limit, the next record goes to a new
 *   file and a snapshot of the state at that instant is written in the background; once it is
 *   renamed into place, the older journal files are deleted.
 */
import { open, readdir, unlink, type FileHandle } from "node:fs/promises";
import type { Storage, StorageChange, StorageListener } from "../storage.js";
import type { Doc } from "../values.js";
import { changeToRecord } from "./changes.js";
import { inDir, journalFile, journalNumber, syncDir, writeAll } from "./files.js";
import { encodeRecord } from "./records.js";
import { captureView, writeSnapshot } from "./snapshot.js";

export interface JournalOptions {
  dir: string;
  storage: Storage;
  /** The journal file to append to (after recovery) and its current size. */
  fileNo: number;
  fileBytes: number;
  /** Size of the snapshot on disk (0 when none). */
  snapshotBytes: number;
  /** A snapshot is taken when the journal file passes max(this, the last snapshot's size). */
  limitBytes: number;
  warn: (message: string) => void;
}

interface Group {
  no: number;
  bufs: Buffer[];
  seq: number;
}

export class Journal implements StorageListener {
  /** Records appended so far (the sequence number of the last one). */
  appended = 0;
  private durableSeq = 0;
  private pending: Group[] = [];
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushing = false;
  private flushScheduled = false;
  private failure: Error | null = null;
  private fh: FileHandle | null = null;
  private fhNo = -1;
  private fileNo: number;
  private fileBytes: number;
  private snapshotBytes: number;
  private snapshotting: Promise<void> | null = null;
  private snapshotScheduled = false;
  private batch: Doc[] | null = null;
  private depth = 0;
  private closed = false;

  constructor(private readonly opts: JournalOptions) {
    this.fileNo = opts.fileNo;
    this.fileBytes = opts.fileBytes;
    this.snapshotBytes = opts.snapshotBytes;
  }

  // ------------------------------------------------------------ StorageListener

  change(change: StorageChange): void {
    const body = changeToRecord(change);
    if (this.batch) this.batch.push(body);
    else this.append(encodeRecord(body));
  }

  begin(): void {
    if (this.depth++ === 0) this.batch = [];
  }

  end(): void {
    if (--this.depth > 0) return;
    const ops = this.batch ?? [];
    this.batch = null;
    // One record for the whole unit: after a crash, all of it is there or none of it.
    if (ops.length === 1) this.append(encodeRecord(ops[0]));
    else if (ops.length > 1) this.append(encodeRecord({ o: "b", ops }));
  }

  // ------------------------------------------------------------ group commit

  /** Resolves when record `seq` (default: every record so far) is on disk; rejects if it cannot be. */
  durable(seq = this.appended): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durableSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private append(buf: Buffer): void {
    if (this.closed) return;
    this.appended++;
    let g = this.pending[this.pending.length - 1];
    if (!g || g.no !== this.fileNo) this.pending.push((g = { no: this.fileNo, bufs: [], seq: 0 }));
    g.bufs.push(buf);
    g.seq = this.appended;
    this.fileBytes += buf.length;
    if (!this.flushing && !this.flushScheduled) {
      this.flushScheduled = true;
      // After the current I/O callbacks: commands that arrived together share one fsync.
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
    if (!this.snapshotting && !this.snapshotScheduled && this.fileBytes > Math.max(this.opts.limitBytes, this.snapshotBytes)) {
      this.snapshotScheduled = true;
      // Between commands, never inside one: the state captured then is exactly what the
      // journal files before the new one hold.
      setImmediate(() => this.rotate());
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length && !this.failure) {
        const groups = this.pending;
        this.pending = [];
        for (const g of groups) {
          const fh = await this.fileFor(g.no);
          await writeAll(fh, g.bufs);
          await fh.datasync();
          this.durableSeq = g.seq;
          this.wake();
        }
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.flushing = false;
    }
  }

  private wake(): void {
    while (this.waiters.length && this.waiters[0].seq <= this.durableSeq) this.waiters.shift()!.resolve();
  }

  private fail(err: Error): void {
    this.failure = new Error(`the journal could not be written (${err.message}); writes since are not durable. Restart the server.`);
    this.opts.warn(this.failure.message);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  private async fileFor(no: number): Promise<FileHandle> {
    if (this.fh && this.fhNo === no) return this.fh;
    const old = this.fh;
    this.fh = null;
    await old?.close();
    this.fh = await open(inDir(this.opts.dir, journalFile(no)), "a");
    this.fhNo = no;
    // The new file's directory entry must survive a crash as well as its contents.
    await syncDir(this.opts.dir);
    return this.fh;
  }

  // ------------------------------------------------------------ snapshots

  private rotate(): void {
    this.snapshotScheduled = false;
    if (this.closed || this.snapshotting) return;
    if (this.depth > 0) {
      this.snapshotScheduled = true;
      setImmediate(() => this.rotate());
      return;
    }
    const next = this.fileNo + 1;
    const lastOfOld = this.appended;
    this.fileNo = next;
    this.fileBytes = 0;
    const view = captureView(this.opts.storage);
    this.snapshotting = (async () => {
      try {
        this.snapshotBytes = await writeSnapshot(this.opts.dir, view, next);
        // The older files may go once their last record is on disk (it is in the snapshot too).
        await this.durable(lastOfOld);
        for (const name of await readdir(this.opts.dir)) {
          const n = journalNumber(name);
          if (n !== null && n < next) await unlink(inDir(this.opts.dir, name)).catch(() => {});
        }
        await syncDir(this.opts.dir);
      } catch (err) {
        // The old snapshot and every journal file are still there: nothing is lost.
        this.opts.warn(`snapshot failed (${(err as Error).message}); the journal keeps growing until the next attempt`);
        this.snapshotBytes = Math.max(this.snapshotBytes, this.fileBytes) * 2;
      } finally {
        this.snapshotting = null;
      }
    })();
  }

  /** Writes a snapshot now (tests, benchmarks); resolves when it is in place. */
  async snapshotNow(): Promise<void> {
    await this.snapshotting;
    this.rotate();
    await this.snapshotting;
  }

  /** Flushes what is queued, lets a running snapshot finish, and closes the file. */
  async close(): Promise<void> {
    await this.durable().catch(() => {});
    await this.snapshotting;
    this.closed = true;
    while (this.flushing) await new Promise((r) => setImmediate(r));
    await this.fh?.close();
    this.fh = null;
  }
}
