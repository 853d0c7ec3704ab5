/**
 * The journal: a StorageListener that turns every applied change into an append-only record,
 * written to the journal file before the write's reply goes out, and synced to the disk on a
 * short interval (group commit).
 *
 * - record: each change is encoded at once (synchronously, while the server handles the
 *   command) and queued; `appended` counts records.
 * - write-through: `writeThrough()` hands every queued record to the kernel with one
 *   synchronous writev. The server calls it before it sends any reply that follows a change,
 *   so an acknowledged write is in the file even if the process is killed (kill -9) the next
 *   instant: the kernel still writes it out. Only an OS crash or power loss can lose it.
 * - sync: one fdatasync (on the libuv pool, the event loop keeps going) covers every record
 *   written before it. It runs every `commitIntervalMs` while unsynced records exist, like
 *   MongoDB's storage.journal.commitIntervalMs (100 ms), and at once when someone waits:
 *   `durable(seq)` resolves when record `seq` is synced. The server waits for it when the
 *   write concern asks (`j: true`, `w: "majority"`), and for every write in `sync: "always"`.
 *   Writers waiting together share one fdatasync.
 * - rotation: when the current journal file outgrows its limit, the next record goes to a new
 *   file and a snapshot of the state at that instant is written in the background; once it is
 *   renamed into place and the older files are synced, the older journal files are deleted.
 */
import { closeSync, fdatasync, openSync, writeSync, writevSync } from "node:fs";
import { readdir, unlink } from "node:fs/promises";
import type { Storage, StorageChange, StorageListener } from "../storage.js";
import type { Doc } from "../values.js";
import { changeToRecord } from "./changes.js";
import { inDir, journalFile, journalNumber, syncDir } from "./files.js";
import { encodeRecord } from "./records.js";
import { captureView, writeSnapshot } from "./snapshot.js";

/** "interval": acknowledged once written (survives kill -9), synced within commitIntervalMs. "always": acknowledged once synced. */
export type SyncMode = "interval" | "always";

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
  /** When acknowledged writes are synced; default "interval". */
  sync?: SyncMode;
  /** The longest an acknowledged write stays unsynced in "interval" mode; default 100 ms. */
  commitIntervalMs?: number;
  warn: (message: string) => void;
}

const fdatasyncAsync = (fd: number): Promise<void> => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));

export class Journal implements StorageListener {
  /** Records appended so far (the sequence number of the last one). */
  appended = 0;
  readonly syncMode: SyncMode;
  private writtenSeq = 0;
  private durableSeq = 0;
  /** Encoded records not yet handed to the kernel, all for file `fileNo`. */
  private queue: Buffer[] = [];
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private syncing: Promise<void> | null = null;
  private syncSoon = false;
  private syncAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  private fd = -1;
  private fdNo = -1;
  /** Descriptors of older journal files: synced (then closed) by the next sync round. */
  private retired: number[] = [];
  /** A journal file was created since the last directory sync: its entry must be synced too. */
  private dirDirty = false;
  private fileNo: number;
  private fileBytes: number;
  private snapshotBytes: number;
  private snapshotting: Promise<void> | null = null;
  private snapshotScheduled = false;
  private batch: Doc[] | null = null;
  private depth = 0;
  private closed = false;
  private readonly intervalMs: number;

  constructor(private readonly opts: JournalOptions) {
    this.fileNo = opts.fileNo;
    this.fileBytes = opts.fileBytes;
    this.snapshotBytes = opts.snapshotBytes;
    this.syncMode = opts.sync ?? "interval";
    this.intervalMs = opts.commitIntervalMs ?? 100;
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

  /** How far the journal got: records appended, handed to the kernel, and synced to the disk. */
  get progress(): { appended: number; written: number; synced: number } {
    return { appended: this.appended, written: this.writtenSeq, synced: this.durableSeq };
  }

  // ------------------------------------------------------------ write-through and sync

  /**
   * Hands every queued record to the kernel now (synchronously), so it survives the process
   * being killed. Throws if the journal cannot be written: the write must not be acknowledged.
   */
  writeThrough(): void {
    if (this.failure) throw this.failure;
    if (!this.queue.length) return;
    const bufs = this.queue;
    this.queue = [];
    try {
      this.writeAllSync(this.fileFor(this.fileNo), bufs);
    } catch (err) {
      this.fail(err as Error);
      throw this.failure!;
    }
    this.writtenSeq = this.appended;
    this.armTimer();
  }

  /** Resolves when record `seq` (default: every record so far) is synced; rejects if it cannot be. */
  durable(seq = this.appended): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durableSeq >= seq) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
    // Someone waits: sync now rather than at the interval. Waiters that arrive while a sync
    // runs share the next one.
    if (!this.syncSoon) {
      this.syncSoon = true;
      setImmediate(() => {
        this.syncSoon = false;
        void this.sync();
      });
    }
    return p;
  }

  private append(buf: Buffer): void {
    if (this.closed) return;
    this.appended++;
    this.queue.push(buf);
    this.fileBytes += buf.length;
    // Changes nobody replies to (a TTL sweep) are written by the next sync round.
    this.armTimer();
    if (!this.snapshotting && !this.snapshotScheduled && this.fileBytes > Math.max(this.opts.limitBytes, this.snapshotBytes)) {
      this.snapshotScheduled = true;
      // Between commands, never inside one: the state captured then is exactly what the
      // journal files before the new one hold.
      setImmediate(() => this.rotate());
    }
  }

  private armTimer(): void {
    if (this.timer || this.closed) return;
    // Unref'd: acknowledged records are already in the kernel (writeThrough), so this sync
    // only adds power-loss safety and must not keep a process alive that forgot stop().
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync();
    }, this.intervalMs).unref();
  }

  /**
   * Runs sync rounds until nobody waits and nothing asked for another: one loop at a time;
   * a call while it runs only asks for one more round (records written meanwhile).
   */
  private sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const loop = async (): Promise<void> => {
      try {
        do {
          this.syncAgain = false;
          await this.syncRound();
        } while ((this.syncAgain || this.waiters.length) && !this.failure);
      } finally {
        this.syncing = null;
      }
    };
    // Set before the loop's first await can finish it (it always awaits at least once).
    this.syncing = Promise.resolve().then(loop);
    return this.syncing;
  }

  /** One round: write what is queued, fdatasync the files, wake the waiters it covers. */
  private async syncRound(): Promise<void> {
    try {
      this.writeThrough();
      const upTo = this.writtenSeq;
      for (const fd of this.retired.splice(0)) {
        await fdatasyncAsync(fd);
        closeSync(fd);
      }
      if (upTo > this.durableSeq && this.fd >= 0) await fdatasyncAsync(this.fd);
      if (this.dirDirty) {
        this.dirDirty = false;
        await syncDir(this.opts.dir);
      }
      this.durableSeq = Math.max(this.durableSeq, upTo);
      this.wake();
    } catch (err) {
      if (!this.failure) this.fail(err as Error);
    }
  }

  /** Resolves every waiter the synced records cover (they may have asked out of order). */
  private wake(): void {
    if (!this.waiters.some((w) => w.seq <= this.durableSeq)) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.seq <= this.durableSeq) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private fail(err: Error): void {
    this.failure = new Error(`the journal could not be written (${err.message}); writes since are not durable. Restart the server.`);
    this.opts.warn(this.failure.message);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }

  /** The descriptor of journal file `no`, opening it (and retiring the previous one) on a switch. */
  private fileFor(no: number): number {
    if (this.fd >= 0 && this.fdNo === no) return this.fd;
    if (this.fd >= 0) this.retired.push(this.fd);
    this.fd = -1;
    this.fd = openSync(inDir(this.opts.dir, journalFile(no)), "a");
    this.fdNo = no;
    // The file's directory entry must survive an OS crash as well as its contents: the next
    // sync round syncs the directory before it counts these records as durable.
    this.dirDirty = true;
    return this.fd;
  }

  private writeAllSync(fd: number, bufs: Buffer[]): void {
    // writev takes at most IOV_MAX (1024) buffers per call: join larger groups into one.
    if (bufs.length > 256) bufs = [Buffer.concat(bufs)];
    const total = bufs.reduce((n, b) => n + b.length, 0);
    const written = bufs.length === 1 ? writeSync(fd, bufs[0]) : writevSync(fd, bufs);
    if (written === total) return;
    const rest = Buffer.concat(bufs).subarray(written);
    let off = 0;
    while (off < rest.length) off += writeSync(fd, rest, off);
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
    // Records of the old file go to the old file.
    try {
      this.writeThrough();
    } catch {
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
        // The older files may go once their last record is synced (it is in the snapshot too).
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

  /** Syncs what is written, lets a running snapshot finish, and closes the files. */
  async close(): Promise<void> {
    await this.durable().catch(() => {});
    await this.snapshotting;
    await this.durable().catch(() => {});
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.syncing) await this.syncing.catch(() => {});
    for (const fd of this.retired.splice(0)) closeSync(fd);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
