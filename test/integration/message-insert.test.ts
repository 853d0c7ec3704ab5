/**
 * A message is inserted through the driver (common/lean.ts insertEntities) instead of
 * mongoose's insertMany: the stored document must be what mongoose stored, field for field —
 * defaults, timestamps, version key, no undefined fields — for every shape of draft the send
 * path composes (text, media and file attachments, a reply, mentions, a forward, a
 * clientMessageId), direct and group. Both go into the same collection and are read back raw.
 */
import { ObjectId } from "mongodb";
import type mongoose from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertEntities } from "../../src/common/lean.js";
import { startTestApi, type TestApi } from "../helpers/api.js";

/** Field order aside (mongoose writes in schema order), the same fields and values. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof ObjectId) return `oid:${v.toHexString()}`;
  if (v instanceof Date) return "date";
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

describe("message insert through the driver", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const sender = new ObjectId();
  const other = new ObjectId();
  const media = new ObjectId();
  const file = new ObjectId();
  const replyTo = new ObjectId();
  // Factories: each insert gets its own objects (the insert fills defaults in place).
  const drafts: Array<[string, () => Record<string, unknown>]> = [
    ["text", () => ({ content: "hello", message_type: "text", attachment: null })],
    ["text with clientMessageId", () => ({ content: "hi", message_type: "text", attachment: null, client_message_id: "c-1" })],
    ["image", () => ({ content: "", message_type: "image", attachment: { media_id: media } })],
    ["document", () => ({ content: "see this", message_type: "document", attachment: { file_id: file } })],
    ["reply with mentions", () => ({ content: "@you", message_type: "text", attachment: null, reply_to: replyTo, mentions: [other] })],
    ["forward", () => ({ content: "fwd", message_type: "text", attachment: null, forwarded: true })],
    ["undefined fields", () => ({ content: "x", message_type: "text", attachment: null, reply_to: undefined, mentions: undefined })],
  ];

  for (const kind of ["direct", "group"] as const) {
    for (const [name, draft] of drafts) {
      it(`${kind}: ${name}`, async () => {
        const model = (kind === "direct" ? api.db.models.DirectMessage : api.db.models.GroupMessage) as unknown as mongoose.Model<Record<string, unknown>>;
        const fields = (seq: number): Record<string, unknown> =>
          kind === "direct"
            ? { conversation_id: new ObjectId(), seq, sender_id: sender, recipient_id: other, status: "sent", is_deleted: false }
            : { conversation_id: new ObjectId(), group_id: new ObjectId(), seq, sender_id: sender, read_by: [], is_deleted: false };
        const copy = () => {
          const d = draft();
          if (d.client_message_id) d.client_message_id = `${d.client_message_id as string}-${name}-${kind}`;
          return d;
        };
        const viaMongoose: Record<string, unknown> & { _id: ObjectId } = { _id: new ObjectId(), ...fields(1), ...copy(), rev: 1 };
        const viaDriver: Record<string, unknown> & { _id: ObjectId } = { _id: new ObjectId(), ...fields(1), ...copy(), rev: 1 };
        // The client message ids must differ (unique per sender).
        if (viaDriver.client_message_id) viaDriver.client_message_id = `${viaDriver.client_message_id as string}-d`;
        await model.insertMany([viaMongoose]);
        const [entity] = await insertEntities(model, [viaDriver]);
        expect(entity.id).toBe(viaDriver._id.toHexString());
        const raw = api.db.connection.db!.collection(model.collection.collectionName);
        const a: Record<string, unknown> = (await raw.findOne({ _id: viaMongoose._id }))!;
        const b: Record<string, unknown> = (await raw.findOne({ _id: viaDriver._id }))!;
        for (const doc of [a, b]) {
          delete doc._id;
          delete doc.conversation_id;
          delete doc.group_id;
          if (doc.client_message_id) doc.client_message_id = "cid";
        }
        expect(canonical(b)).toEqual(canonical(a));
        expect(b.created_at).toBeInstanceOf(Date);
        expect(b.updated_at).toBeInstanceOf(Date);
      });
    }
  }
});
