/**
 * Snapshots: the whole catalog and every document at one instant, so the journal before that
 * instant can be deleted. Written to a temporary file, synced, then renamed over the old one:
 * a crash while writing leaves the previous snapshot and its journals untouched.
 *
 * Layout (records framed as in records.ts): a header { format, version, journal }, then per
 * collection a { coll: { db, name, options, indexes } } record followed by one { x: doc } per
 * document, then { end: { collections, documents } }. A snapshot without its end record is corrupt.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import type { IndexSpec } from "../indexes.js";
import type { Storage } from "../storage.js";
import { type Doc, cloneDoc } from "../values.js";
import { SNAPSHOT_FILE, inDir, syncDir, writeAll } from "./files.js";
import { decodeRecords, encodeRecord } from "./records.js";

export const SNAPSHOT_FORMAT = "letsapp-embedded-mongo-snapshot";
const CHUNK_BYTES = 1 << 20;

export interface CollectionView {
  db: string;
  name: string;
  options: Doc;
  indexes: IndexSpec[];
  docs: Doc[];
}

/**
 * The state to snapshot, taken synchronously. Stored documents are never changed in place, so
 * holding their references is a consistent copy while writes go on.
 */
export function captureView(storage: Storage): CollectionView[] {
  const out: CollectionView[] = [];
  for (const db of storage.databaseNames()) {
    for (const c of storage.collections(db)) {
      out.push({
        db,
        name: c.name,
        options: cloneDoc(c.options),
        indexes: c
          .indexSpecs()
          .filter((s) => s.name !== "_id_")
          .map((s) => cloneDoc(s) as IndexSpec),
        docs: c.all(),
      });
    }
  }
  return out;
}

/** Writes the snapshot that precedes journal `journal`; returns its size in bytes. */
export async function writeSnapshot(dir: string, view: CollectionView[], journal: number): Promise<number> {
  const tmp = inDir(dir, `${SNAPSHOT_FILE}.tmp`);
  const fh = await open(tmp, "w");
  let bytes = 0;
  let documents = 0;
  try {
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const push = async (body: Doc): Promise<void> => {
      const rec = encodeRecord(body);
      chunk.push(rec);
      chunkBytes += rec.length;
      if (chunkBytes >= CHUNK_BYTES) await flush();
    };
    // Each awaited write lets the server answer requests between chunks.
    const flush = async (): Promise<void> => {
      if (!chunk.length) return;
      await writeAll(fh, chunk);
      bytes += chunkBytes;
      chunk = [];
      chunkBytes = 0;
    };
    await push({ format: SNAPSHOT_FORMAT, version: 1, journal, createdAt: new Date() });
    for (const c of view) {
      await push({ coll: { db: c.db, name: c.name, options: c.options, indexes: c.indexes } });
      for (const doc of c.docs) {
        await push({ x: doc });
        documents++;
      }
    }
    await push({ end: { collections: view.length, documents } });
    await flush();
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, inDir(dir, SNAPSHOT_FILE));
  await syncDir(dir);
  return bytes;
}

export class CorruptSnapshotError extends Error {}

/**
 * Loads a snapshot into an empty storage; returns the journal number it precedes. Any damage
 * is an error: a snapshot is written whole or not at all, so damage means the disk lost data.
 */
export async function loadSnapshot(dir: string, storage: Storage): Promise<{ journal: number; bytes: number; documents: number }> {
  const file = inDir(dir, SNAPSHOT_FILE);
  const buf = await readFile(file);
  const refuse = (why: string): CorruptSnapshotError =>
    new CorruptSnapshotError(
      `the snapshot ${file} is corrupt (${why}); refusing to start so nothing is overwritten. Restore the data directory from a backup, or move it away to start empty.`,
    );
  let header: Doc | null = null;
  let end: Doc | null = null;
  let current: { coll: ReturnType<Storage["ensure"]>; indexes: IndexSpec[] } | null = null;
  let documents = 0;
  let collections = 0;
  const finishCollection = (): void => {
    if (current) for (const spec of current.indexes) current.coll.createIndex(spec);
    current = null;
  };
  const result = decodeRecords(buf, 0, (r) => {
    if (end) throw refuse("records after the end record");
    if (!header) {
      if (r.format !== SNAPSHOT_FORMAT || typeof r.journal !== "number") throw refuse("no snapshot header");
      header = r;
      return;
    }
    if (r.x !== undefined) {
      if (!current) throw refuse("a document before any collection");
      current.coll.restorePut(r.x as Doc);
      documents++;
    } else if (r.coll) {
      finishCollection();
      const c = r.coll as Doc;
      // Indexes are built once after the collection's documents are in: faster than per insert.
      current = { coll: storage.ensure(c.db as string, c.name as string, (c.options as Doc) ?? {}), indexes: (c.indexes as IndexSpec[]) ?? [] };
      collections++;
    } else if (r.end) {
      finishCollection();
      end = r.end as Doc;
    } else {
      throw refuse("an unknown record");
    }
  });
  if (result.error) throw refuse(result.error);
  if (!header) throw refuse("empty file");
  if (!end) throw refuse("no end record: the file is truncated");
  const e = end as Doc;
  if (e.documents !== documents || e.collections !== collections) throw refuse(`counts differ from the end record`);
  return { journal: (header as Doc).journal as number, bytes: buf.length, documents };
}
