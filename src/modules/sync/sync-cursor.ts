/**
 * The `changes(since)` cursor: what the client has seen, as numbers the database keeps, so it
 * survives restarts and works on every instance (nothing is kept server-side). For each of the
 * viewer's conversations: its id, the conversation's `rev` and `last_seq` when it was read; and
 * the viewer's `contacts_rev`. Binary (12-byte ids, varints), then base64url: about 16 bytes a
 * conversation before encoding.
 *
 * A cursor only names what its holder already saw: a forged one can make the server send more
 * or less of the holder's OWN data, never anyone else's (every read is scoped to the viewer's
 * memberships), so it is not signed. Malformed text is a BAD_USER_INPUT naming `since`.
 */
import { Types } from "mongoose";
import { badInput } from "../../errors.js";

/** Format version: a cursor of another version is refused (clients start over with since: null). */
const VERSION = 1;

export interface SeenConversation {
  rev: number;
  seq: number;
}

export interface SyncCursor {
  contactsRev: number;
  /** Conversation id (hex) → what was seen of it. */
  conversations: Map<string, SeenConversation>;
}

export function encodeSyncCursor(cursor: SyncCursor): string {
  const bytes: number[] = [VERSION];
  varint(bytes, cursor.contactsRev);
  varint(bytes, cursor.conversations.size);
  for (const [id, seen] of cursor.conversations) {
    bytes.push(...Buffer.from(id, "hex"));
    varint(bytes, seen.rev);
    varint(bytes, seen.seq);
  }
  return Buffer.from(bytes).toString("base64url");
}

export function decodeSyncCursor(text: string): SyncCursor {
  const bad = () => badInput([{ field: "since", message: "since is not a cursor from changes; start again with since: null" }]);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  const buf = Buffer.from(text, "base64url");
  const reader = { buf, at: 0 };
  if (buf[0] !== VERSION) throw bad();
  reader.at = 1;
  try {
    const contactsRev = readVarint(reader);
    const count = readVarint(reader);
    // Each entry takes at least 14 bytes: a count the text cannot hold is not a cursor.
    if (count * 14 > buf.length) throw bad();
    const conversations = new Map<string, SeenConversation>();
    for (let i = 0; i < count; i++) {
      if (reader.at + 12 > buf.length) throw bad();
      const id = new Types.ObjectId(buf.subarray(reader.at, reader.at + 12)).toHexString();
      reader.at += 12;
      conversations.set(id, { rev: readVarint(reader), seq: readVarint(reader) });
    }
    if (reader.at !== buf.length) throw bad();
    return { contactsRev, conversations };
  } catch {
    throw bad();
  }
}

/** Unsigned LEB128, for non-negative safe integers. */
function varint(out: number[], n: number): void {
  let v = Math.max(0, Math.floor(n));
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(r: { buf: Buffer; at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (r.at >= r.buf.length) throw new RangeError("cursor ends inside a number");
    const byte = r.buf[r.at++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw new RangeError("number too large");
      return value;
    }
    scale *= 0x80;
  }
  throw new RangeError("number too long");
}
