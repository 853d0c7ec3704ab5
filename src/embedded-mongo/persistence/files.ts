/**
 * File names in a data directory and the small fs helpers durability needs: a directory fsync
 * (so a created, renamed or deleted file survives a crash too) and a complete write.
 */
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";

export const SNAPSHOT_FILE = "snapshot.edb";
export const LOCK_FILE = "mongod.lock";
const JOURNAL_RE = /^journal-(\d{10})\.edb$/;

export function journalFile(no: number): string {
  return `journal-${String(no).padStart(10, "0")}.edb`;
}

/** The journal number of a file name, or null when it is not a journal. */
export function journalNumber(name: string): number | null {
  const m = JOURNAL_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/** Makes the directory's entries (new, renamed, removed files) durable. */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    // Some platforms cannot fsync a directory (Windows): the file data itself was synced.
    if ((err as NodeJS.ErrnoException).code !== "EISDIR" && (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
  } finally {
    await fh?.close();
  }
}

/** Writes every buffer at the file's current end, looping over short writes. */
export async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers per call: join larger groups into one.
  if (bufs.length > 256) bufs = [Buffer.concat(bufs)];
  let { bytesWritten } = await fh.writev(bufs);
  const total = bufs.reduce((n, b) => n + b.length, 0);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(bufs).subarray(bytesWritten);
  let off = 0;
  while (off < rest.length) {
    ({ bytesWritten } = await fh.write(rest, off));
    off += bytesWritten;
  }
}

export const inDir = (dir: string, name: string): string => path.join(dir, name);
