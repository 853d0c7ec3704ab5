/**
 * A data directory: lock it, recover its contents into the storage, then journal every change.
 * Call before the server listens, so no client sees a half-recovered state.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Storage } from "../storage.js";
import { Journal, type SyncMode } from "./journal.js";
import { acquireLock } from "./lock.js";
import { recover } from "./recovery.js";

export { DataDirLockedError } from "./lock.js";
export type { SyncMode } from "./journal.js";
export { CorruptSnapshotError } from "./snapshot.js";
export { CorruptJournalError } from "./recovery.js";

export interface DataDirOptions {
  /** Journal size that triggers a snapshot (at least the last snapshot's size); default 64 MiB. */
  journalLimitBytes?: number;
  /** "interval" (default): a write is acknowledged once in the journal file, synced within commitIntervalMs; "always": once synced. */
  sync?: SyncMode;
  /** Default 100 ms, as MongoDB's storage.journal.commitIntervalMs. */
  commitIntervalMs?: number;
  warn?: (message: string) => void;
}

export interface DataDir {
  dir: string;
  journal: Journal;
  /** What recovery found, for the start-up log line. */
  recovered: { documents: number; records: number };
  close(): Promise<void>;
}

export async function openDataDir(dirPath: string, storage: Storage, options: DataDirOptions = {}): Promise<DataDir> {
  const dir = path.resolve(dirPath);
  const warn = options.warn ?? ((m: string) => console.warn(`embedded-mongo: ${m}`));
  await mkdir(dir, { recursive: true });
  const release = await acquireLock(dir);
  try {
    const r = await recover(dir, storage, warn);
    const journal = new Journal({
      dir,
      storage,
      fileNo: r.fileNo,
      fileBytes: r.fileBytes,
      snapshotBytes: r.snapshotBytes,
      limitBytes: options.journalLimitBytes ?? 64 * 1024 * 1024,
      sync: options.sync,
      commitIntervalMs: options.commitIntervalMs,
      warn,
    });
    const detach = storage.addListener(journal);
    let closing: Promise<void> | null = null;
    return {
      dir,
      journal,
      recovered: { documents: storage.databaseNames().reduce((n, db) => n + storage.collections(db).reduce((m, c) => m + c.size, 0), 0), records: r.records },
      close: () =>
        (closing ??= (async () => {
          detach();
          await journal.close();
          await release();
        })()),
    };
  } catch (err) {
    storage.clear();
    await release();
    throw err;
  }
}
