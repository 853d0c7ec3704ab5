/**
 * MongoDB wire protocol framing: the 16-byte header, OP_QUERY (used only for the first
 * handshake), OP_MSG with kind-0/kind-1 sections, and the replies OP_REPLY and OP_MSG.
 * Parsing never trusts a length field: every read is bounds-checked and a bad message raises
 * WireError, which the connection turns into an error reply or a close.
 *
 * Every protocol number lives here (opcodes, flag bits, section kinds, field sizes, the size
 * limits and wire versions hello reports), so the rest of the engine names them.
 */
import { deserialize, serialize, type Document } from "bson";
import type { Doc } from "./values.js";

// Opcodes. OP_COMPRESSED is named for completeness: hello advertises no compressors, so no
// driver sends it, and like any other unknown opcode it closes the connection.
export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

/** messageLength, requestID, responseTo, opCode: four int32s. */
export const HEADER_SIZE = 16;
/** A message starts with its total length (int32): enough bytes to frame it. */
export const LENGTH_PREFIX_SIZE = 4;

/** OP_QUERY commands go to the pseudo-collection `<db>.$cmd`. */
export const COMMAND_COLLECTION_SUFFIX = ".$cmd";

// OP_MSG flag bits.
export const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
export const MSG_EXHAUST_ALLOWED = 1 << 16;
/** Flag bits 0-15 are "required": an unknown one must fail the message. */
const REQUIRED_FLAG_BITS = 0xffff;
const KNOWN_REQUIRED_FLAGS = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME;
/** The CRC-32C trailing a message whose checksum flag is set (skipped, not verified). */
const CHECKSUM_SIZE = 4;

// OP_MSG section kinds.
/** Kind 0: the command document. */
const SECTION_BODY = 0;
/** Kind 1: a document sequence (e.g. `documents` of an insert), merged into the body as an array. */
const SECTION_SEQUENCE = 1;

/** The smallest BSON document: an int32 length and the terminating zero byte. */
const MIN_BSON_SIZE = 5;
const INT32_SIZE = 4;
/** OP_MSG's flagBits (uint32), before the first section. */
const FLAG_BITS_SIZE = INT32_SIZE;
/** OP_REPLY's fixed fields: responseFlags, cursorID (int64), startingFrom, numberReturned. */
const REPLY_FIELDS_SIZE = 20;

// Limits and versions the handshake (hello) reports; framing enforces MAX_MESSAGE_SIZE.
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_WRITE_BATCH_SIZE = 100_000;
export const MIN_WIRE_VERSION = 0;
/** 21 = MongoDB 7.0 (SERVER_VERSION); the driver refuses servers below 8. */
export const MAX_WIRE_VERSION = 21;

export class WireError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export function readHeader(buf: Buffer): Header {
  return {
    length: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

const DESERIALIZE_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const;

/** Reads one BSON document at `pos`, checking its declared size against what is there. */
function readDocument(body: Buffer, pos: number, end: number): { doc: Doc; next: number } {
  if (pos + MIN_BSON_SIZE > end) throw new WireError("truncated BSON document", false);
  const size = body.readInt32LE(pos);
  if (size < MIN_BSON_SIZE || pos + size > end) throw new WireError(`invalid BSON document size ${size}`, false);
  try {
    return { doc: deserialize(body.subarray(pos, pos + size), DESERIALIZE_OPTIONS) as Doc, next: pos + size };
  } catch (err) {
    throw new WireError(`invalid BSON: ${(err as Error).message}`, false);
  }
}

function readCString(body: Buffer, pos: number, end: number): { value: string; next: number } {
  const zero = body.indexOf(0, pos);
  if (zero < 0 || zero >= end) throw new WireError("unterminated C string", false);
  return { value: body.toString("utf8", pos, zero), next: zero + 1 };
}

export interface MsgRequest {
  flags: number;
  /** The kind-0 body with kind-1 sequences merged in as arrays (e.g. `documents`). */
  command: Doc;
}

/** Parses an OP_MSG body (the bytes after the header). */
export function parseOpMsg(body: Buffer): MsgRequest {
  // flagBits and at least one section kind byte.
  if (body.length < FLAG_BITS_SIZE + 1) throw new WireError("OP_MSG too short", false);
  const flags = body.readUInt32LE(0);
  if (flags & REQUIRED_FLAG_BITS & ~KNOWN_REQUIRED_FLAGS) throw new WireError(`unknown required OP_MSG flag bits ${flags & REQUIRED_FLAG_BITS}`, false);
  const end = flags & MSG_CHECKSUM_PRESENT ? body.length - CHECKSUM_SIZE : body.length;
  let pos = FLAG_BITS_SIZE;
  let command: Doc | null = null;
  const sequences: Array<[string, Doc[]]> = [];
  while (pos < end) {
    const kind = body[pos++];
    if (kind === SECTION_BODY) {
      if (command) throw new WireError("OP_MSG has more than one body section", false);
      const r = readDocument(body, pos, end);
      command = r.doc;
      pos = r.next;
    } else if (kind === SECTION_SEQUENCE) {
      if (pos + INT32_SIZE > end) throw new WireError("truncated document sequence", false);
      const size = body.readInt32LE(pos);
      const seqEnd = pos + size;
      if (size < MIN_BSON_SIZE || seqEnd > end) throw new WireError(`invalid document sequence size ${size}`, false);
      const id = readCString(body, pos + INT32_SIZE, seqEnd);
      const docs: Doc[] = [];
      let p = id.next;
      while (p < seqEnd) {
        const r = readDocument(body, p, seqEnd);
        docs.push(r.doc);
        p = r.next;
      }
      sequences.push([id.value, docs]);
      pos = seqEnd;
    } else {
      throw new WireError(`unknown OP_MSG section kind ${kind}`, false);
    }
  }
  if (!command) throw new WireError("OP_MSG has no body section", false);
  for (const [id, docs] of sequences) {
    if (id in command) throw new WireError(`duplicate field ${id} in OP_MSG`, false);
    command[id] = docs;
  }
  return { flags, command };
}

export interface QueryRequest {
  collection: string;
  query: Doc;
}

/** Parses a legacy OP_QUERY body (drivers send one: the first handshake). */
export function parseOpQuery(body: Buffer): QueryRequest {
  if (body.length < INT32_SIZE) throw new WireError("OP_QUERY too short", false);
  // flags (int32), fullCollectionName (cstring), numberToSkip and numberToReturn (int32 each), query.
  const name = readCString(body, INT32_SIZE, body.length);
  const pos = name.next + 2 * INT32_SIZE;
  if (pos > body.length) throw new WireError("truncated OP_QUERY", false);
  const { doc } = readDocument(body, pos, body.length);
  return { collection: name.value, query: doc };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

const SERIALIZE_OPTIONS = { ignoreUndefined: true } as const;

export function buildOpMsg(requestId: number, responseTo: number, doc: Doc): Buffer {
  const bson = serialize(doc as Document, SERIALIZE_OPTIONS);
  const prefix = Buffer.alloc(FLAG_BITS_SIZE + 1); // flagBits (none set), then one section kind byte
  prefix[FLAG_BITS_SIZE] = SECTION_BODY;
  const total = HEADER_SIZE + prefix.length + bson.length;
  return Buffer.concat([header(total, requestId, responseTo, OP_MSG), prefix, bson]);
}

export function buildOpReply(requestId: number, responseTo: number, doc: Doc, flags = 0): Buffer {
  const bson = serialize(doc as Document, SERIALIZE_OPTIONS);
  const fields = Buffer.alloc(REPLY_FIELDS_SIZE);
  fields.writeInt32LE(flags, 0); // responseFlags
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned: the one reply document
  const total = HEADER_SIZE + fields.length + bson.length;
  return Buffer.concat([header(total, requestId, responseTo, OP_REPLY), fields, bson]);
}
