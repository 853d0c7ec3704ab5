/**
 * Start-up: load the snapshot, replay the journal files after it, and cut a torn tail.
 *
 * - A damaged snapshot refuses the start (CorruptSnapshotError) and changes no file.
 * - In the LAST journal file, reading stops at the first bad record (a crash mid-append leaves
 *   a torn one); the file is truncated there, with a warning saying how many bytes went.
 * - A bad record in an earlier journal file is not a torn append (later files were written
 *   after it was synced), so it refuses the start too.
 */
import { readFile, readdir, truncate, unlink } from "node:fs/promises";
import type { Storage } from "../storage.js";
import { applyRecord } from "./changes.js";
import { SNAPSHOT_FILE, inDir, journalFile, journalNumber, syncDir } from "./files.js";
import { decodeRecords } from "./records.js";
import { loadSnapshot } from "./snapshot.js";

export class CorruptJournalError extends Error {}

export interface Recovered {
  /** The journal file to keep appending to, and its size. */
  fileNo: number;
  fileBytes: number;
  snapshotBytes: number;
  documents: number;
  records: number;
}

export async function recover(dir: string, storage: Storage, warn: (m: string) => void): Promise<Recovered> {
  const names = await readdir(dir);
  let journal = 1;
  let snapshotBytes = 0;
  let documents = 0;
  if (names.includes(SNAPSHOT_FILE)) {
    const snap = await loadSnapshot(dir, storage);
    journal = snap.journal;
    snapshotBytes = snap.bytes;
    documents = snap.documents;
  }
  const journals = names
    .map((n) => journalNumber(n))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  if (!names.includes(SNAPSHOT_FILE) && journals.length) journal = journals[0];
  // Left over from a crash between a snapshot's rename and the cleanup after it.
  for (const n of journals.filter((n) => n < journal)) await unlink(inDir(dir, journalFile(n)));
  if (names.includes(`${SNAPSHOT_FILE}.tmp`)) await unlink(inDir(dir, `${SNAPSHOT_FILE}.tmp`));
  const replay = journals.filter((n) => n >= journal);
  let fileNo = journal;
  let fileBytes = 0;
  let records = 0;
  for (const [i, n] of replay.entries()) {
    const file = inDir(dir, journalFile(n));
    const buf = await readFile(file);
    const result = decodeRecords(buf, 0, (r) => {
      try {
        applyRecord(storage, r);
      } catch (err) {
        throw new CorruptJournalError(
          `journal ${file}: record ${records + 1} cannot be applied (${(err as Error).message}); refusing to start so nothing is overwritten`,
        );
      }
      records++;
    });
    const last = i === replay.length - 1;
    if (result.error) {
      if (!last) {
        throw new CorruptJournalError(
          `journal ${file} is corrupt before its end (${result.error}) and later journal files exist; refusing to start so nothing is overwritten`,
        );
      }
      warn(`journal ${file}: ${result.error}; cutting ${buf.length - result.validBytes} bytes of torn or corrupt tail (writes that were never acknowledged)`);
      await truncate(file, result.validBytes);
      await syncDir(dir);
    }
    fileNo = n;
    fileBytes = result.validBytes;
  }
  return { fileNo, fileBytes, snapshotBytes, documents, records };
}
