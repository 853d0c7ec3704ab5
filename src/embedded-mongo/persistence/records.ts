/**
 * The on-disk record frame shared by the journal and the snapshot:
 *   u32 LE body length | u32 LE CRC-32 of the body | body (one BSON document)
 * A reader stops at the first frame that is short or whose checksum fails, and says where:
 * that is how a torn last journal record (a crash mid-append) is found and cut.
 */
import { crc32 } from "node:zlib";
import { deserialize, serialize, type Document } from "bson";
import type { Doc } from "../values.js";

export const FRAME_HEADER = 8;
/** Larger than any record we write (a 16 MiB document plus its wrapper): a bigger length is corruption. */
export const MAX_RECORD = 64 * 1024 * 1024;

/** The same decoding the wire uses, so a recovered document equals the one first stored. */
const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const;
const SERIALIZE_OPTIONS = { ignoreUndefined: true } as const;

export function encodeRecord(body: Doc): Buffer {
  const bson = serialize(body as Document, SERIALIZE_OPTIONS);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + bson.length);
  frame.writeUInt32LE(bson.length, 0);
  frame.writeUInt32LE(crc32(bson), 4);
  frame.set(bson, FRAME_HEADER);
  return frame;
}

export interface DecodeResult {
  records: Doc[];
  /** Bytes of valid records from the start. */
  validBytes: number;
  /** Why reading stopped before the end, if it did. */
  error: string | null;
}

/** Decodes every whole, intact record of a buffer; stops at the first bad one. */
export function decodeRecords(buf: Buffer, start = 0, onRecord?: (record: Doc) => void): DecodeResult {
  const records: Doc[] = [];
  let pos = start;
  while (pos < buf.length) {
    if (buf.length - pos < FRAME_HEADER) return { records, validBytes: pos, error: `truncated record header at byte ${pos}` };
    const len = buf.readUInt32LE(pos);
    const sum = buf.readUInt32LE(pos + 4);
    if (len < 5 || len > MAX_RECORD) return { records, validBytes: pos, error: `impossible record length ${len} at byte ${pos}` };
    if (buf.length - pos - FRAME_HEADER < len) return { records, validBytes: pos, error: `truncated record at byte ${pos}` };
    const body = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len);
    if (crc32(body) !== sum) return { records, validBytes: pos, error: `checksum mismatch at byte ${pos}` };
    let doc: Doc;
    try {
      doc = deserialize(body, DESERIALIZE_OPTIONS) as Doc;
    } catch (err) {
      return { records, validBytes: pos, error: `undecodable record at byte ${pos}: ${(err as Error).message}` };
    }
    if (onRecord) onRecord(doc);
    else records.push(doc);
    pos += FRAME_HEADER + len;
  }
  return { records, validBytes: pos, error: null };
}
