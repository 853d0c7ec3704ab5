/**
 * MongoDB wire protocol framing: the 16-byte header, OP_QUERY (used only for the first
 * handshake), OP_MSG with kind-0/kind-1 sections, and the replies OP_REPLY and OP_MSG.
 * Parsing never trusts a length field: every read is bounds-checked and a bad message raises
 * WireError, which the connection turns into an error reply or a close.
 */
import { deserialize, serialize, type Document } from "bson";
import type { Doc } from "./values.js";

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;
export const HEADER_SIZE = 16;

export const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
export const MSG_EXHAUST_ALLOWED = 1 << 16;
/** Flag bits 0-15 are "required": an unknown one must fail the message. */
const KNOWN_REQUIRED_FLAGS = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME;

export class WireError extends Error {
  constructor(message: string, readonly fatal: boolean) {
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
  if (pos + 5 > end) throw new WireError("truncated BSON document", false);
  const size = body.readInt32LE(pos);
  if (size < 5 || pos + size > end) throw new WireError(`invalid BSON document size ${size}`, false);
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
  if (body.length < 5) throw new WireError("OP_MSG too short", false);
  const flags = body.readUInt32LE(0);
  if ((flags & 0xffff) & ~KNOWN_REQUIRED_FLAGS) throw new WireError(`unknown required OP_MSG flag bits ${flags & 0xffff}`, false);
  const end = flags & MSG_CHECKSUM_PRESENT ? body.length - 4 : body.length;
  let pos = 4;
  let command: Doc | null = null;
  const sequences: Array<[string, Doc[]]> = [];
  while (pos < end) {
    const kind = body[pos++];
    if (kind === 0) {
      if (command) throw new WireError("OP_MSG has more than one body section", false);
      const r = readDocument(body, pos, end);
      command = r.doc;
      pos = r.next;
    } else if (kind === 1) {
      if (pos + 4 > end) throw new WireError("truncated document sequence", false);
      const size = body.readInt32LE(pos);
      const seqEnd = pos + size;
      if (size < 5 || seqEnd > end) throw new WireError(`invalid document sequence size ${size}`, false);
      const id = readCString(body, pos + 4, seqEnd);
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
  if (body.length < 4) throw new WireError("OP_QUERY too short", false);
  const name = readCString(body, 4, body.length);
  const pos = name.next + 8;
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
  const prefix = Buffer.alloc(5); // flagBits (0) + section kind 0
  const total = HEADER_SIZE + prefix.length + bson.length;
  return Buffer.concat([header(total, requestId, responseTo, OP_MSG), prefix, bson]);
}

export function buildOpReply(requestId: number, responseTo: number, doc: Doc, flags = 0): Buffer {
  const bson = serialize(doc as Document, SERIALIZE_OPTIONS);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(flags, 0); // responseFlags
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  const total = HEADER_SIZE + fields.length + bson.length;
  return Buffer.concat([header(total, requestId, responseTo, OP_REPLY), fields, bson]);
}
