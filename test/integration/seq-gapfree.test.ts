/**
 * "Nothing lost, nothing doubled": seqs are gap-free under racing sends and retries, on one
 * instance and across two sharing a database; a stream delivers a committed message whose
 * event never came (high-water check), waits for a seq that is not committed yet instead of
 * skipping it, and a send that fails between its writes leaves `last_seq` unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { startTestApi, startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { createGroup, ok } from "../helpers/social.js";
import { listening, topic } from "../helpers/topics.js";
import { until } from "../helpers/wait.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { messageView } from "../../src/modules/message/message.view.js";
import { startEmbeddedMongo } from "../../src/embedded-mongo/index.js";
import type { TestMongo } from "../helpers/mongo.js";

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq conversationId clientMessageId } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id seq conversationId clientMessageId } }`;
const ADDED = `subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { id seq content } }`;
type Sent = { id: string; seq: number; conversationId: string; clientMessageId: string | null };
type Added = { messageAdded: { id: string; seq: number; content: string } };

/** The stored seqs of a conversation, in order, and its last_seq. */
async function seqsOf(api: TestApi, conversationId: string, group: boolean): Promise<{ seqs: number[]; lastSeq: number }> {
  const model = group ? api.db.models.GroupMessage : api.db.models.DirectMessage;
  const docs = await (model as typeof api.db.models.DirectMessage)
    .find({ conversation_id: new Types.ObjectId(conversationId) }, { seq: 1 })
    .sort({ seq: 1 })
    .lean();
  const conv = await api.db.models.Conversation.findById(conversationId, { last_seq: 1 }).lean();
  return { seqs: docs.map((d) => d.seq), lastSeq: conv!.last_seq };
}

/** Counts the reads of a direct conversation's messages (a stream's fills) from now until `stop`. */
function countReads(api: TestApi, conversationId: Types.ObjectId): { readonly count: number; stop(): void } {
  const client = api.db.connection.getClient();
  const reads = { count: 0, stop: () => void client.off("commandStarted", listener) };
  const listener = (e: { commandName: string; command: { find?: unknown; filter?: { conversation_id?: unknown } } }): void => {
    if (e.commandName === "find" && e.command.find === "messages" && String(e.command.filter?.conversation_id) === conversationId.toHexString()) reads.count++;
  };
  client.on("commandStarted", listener);
  return reads;
}

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("gap-free seqs and streams that never skip", () => {
  let a: TestApi;
  let b: TestApi;
  let amy: TestUser, bo: TestUser, cy: TestUser, di: TestUser;
  const sockets: TestWsClient[] = [];

  beforeAll(async () => {
    // The high-water check runs often here so the lost-event test does not wait a second per round.
    ({ a, b } = await startTwoTestApis({ STREAM_HWM_INTERVAL_MS: "100" }));
    amy = await registerUser(a, "amy_s");
    bo = await registerUser(a, "bo_s");
    cy = await registerUser(a, "cy_s");
    di = await registerUser(a, "di_s");
  });
  afterAll(async () => {
    for (const s of sockets) await s.close();
    await stopTestApis(b, a);
  });

  it("detects transactions on the embedded replica set", () => {
    if (process.env.MONGODB_URI) return; // a real server may be either; the rest of the file holds for both
    expect(a.db.transactions).toBe(true);
  });

  it("gives racing sends and retries (same and distinct clientMessageIds, two instances) the seqs 1..N once each", async () => {
    const calls: Array<Promise<{ cmid: string | null; sent: Sent }>> = [];
    const send = (api: TestApi, cmid: string | null, content: string) =>
      calls.push(
        api.gql<{ sendMessage: Sent }>(SEND, { i: { recipientId: bo.id, content, ...(cmid ? { clientMessageId: cmid } : {}) } }, amy.token).then((r) => {
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
          return { cmid, sent: r.data!.sendMessage };
        }),
      );
    // 20 messages with a clientMessageId, each sent 3 times at once (first attempt and two
    // retries, spread over both instances), and 10 without one.
    for (let i = 0; i < 20; i++) for (const api of [a, b, i % 2 ? a : b]) send(api, `d-${i}`, `direct ${i}`);
    for (let i = 0; i < 10; i++) send(i % 2 ? a : b, null, `plain ${i}`);
    const results = await Promise.all(calls);
    const conv = results[0].sent.conversationId;
    const { seqs, lastSeq } = await seqsOf(a, conv, false);
    expect(seqs).toEqual(oneToN(30));
    expect(lastSeq).toBe(30);
    // Every call racing on one clientMessageId got the same message; each is stored once.
    for (let i = 0; i < 20; i++) {
      const ids = new Set(results.filter((r) => r.cmid === `d-${i}`).map((r) => r.sent.id));
      expect(ids.size).toBe(1);
      expect(await a.db.models.DirectMessage.countDocuments({ client_message_id: `d-${i}` })).toBe(1);
    }
  });

  it("does the same in a group where every member sends at once", async () => {
    const groupId = await createGroup(a, amy, [bo, cy, di], "race");
    const calls: Array<Promise<{ key: string; sent: Sent }>> = [];
    for (const [u, who] of [amy, bo, cy, di].entries()) {
      for (let i = 0; i < 8; i++) {
        for (const api of [a, b]) {
          calls.push(
            api.gql<{ sendGroupMessage: Sent }>(SEND_GROUP, { i: { groupId, content: `g ${u}.${i}`, clientMessageId: `g-${i}` } }, who.token).then((r) => {
              expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
              return { key: `${u}.${i}`, sent: r.data!.sendGroupMessage };
            }),
          );
        }
      }
      calls.push(
        ok<{ sendGroupMessage: Sent }>(u % 2 ? a : b, SEND_GROUP, { i: { groupId, content: `no id ${u}` } }, who).then((d) => ({
          key: `plain ${u}`,
          sent: d.sendGroupMessage,
        })),
      );
    }
    const results = await Promise.all(calls);
    const { seqs, lastSeq } = await seqsOf(a, groupId, true);
    expect(seqs).toEqual(oneToN(4 * 8 + 4));
    expect(lastSeq).toBe(36);
    const byKey = new Map<string, Set<string>>();
    for (const r of results) byKey.set(r.key, (byKey.get(r.key) ?? new Set()).add(r.sent.id));
    for (const [key, ids] of byKey) expect(ids.size, key).toBe(1);
  });

  it("delivers a committed message whose event never came, without a later message (high-water check)", async () => {
    const ws = await connectWs(wsUrl(a.url), bo.token);
    sockets.push(ws);
    const first = await ok<{ sendMessage: Sent }>(a, SEND, { i: { recipientId: bo.id, content: "before the loss" } }, cy);
    // Live only (no afterSeq): the stream must be listening before the next send (graphql-ws acknowledges no subscribe).
    const sub = await listening(a, topic("CONVERSATION", first.sendMessage.conversationId), () =>
      ws.subscribe<Added>(ADDED, { c: first.sendMessage.conversationId }),
    );
    const second = await ok<{ sendMessage: Sent }>(a, SEND, { i: { recipientId: bo.id, content: "live" } }, cy);
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: second.sendMessage.seq, content: "live" });
    // Committed as a send commits (message + last_seq in one transaction) but never published.
    const conv = await a.db.models.Conversation.findById(first.sendMessage.conversationId).lean();
    const lost = new Types.ObjectId();
    await a.db.transaction(async (session) => {
      const at = await a.db.models.Conversation.findOneAndUpdate(
        { _id: conv!._id },
        { $inc: { last_seq: 1 }, $set: { last_message_id: lost } },
        { returnDocument: "after", session },
      ).lean();
      await a.db.models.DirectMessage.create(
        [
          {
            _id: lost,
            conversation_id: conv!._id,
            seq: at!.last_seq,
            sender_id: new Types.ObjectId(cy.id),
            recipient_id: new Types.ObjectId(bo.id),
            content: "never published",
            status: "sent",
            is_deleted: false,
          },
        ],
        { session },
      );
    });
    expect((await sub.next()).data?.messageAdded).toMatchObject({ id: lost.toHexString(), seq: second.sendMessage.seq + 1, content: "never published" });
    // And it is not doubled when the next message comes live.
    await ok(a, SEND, { i: { recipientId: bo.id, content: "after" } }, cy);
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: second.sendMessage.seq + 2, content: "after" });
    sub.stop();
  });

  it("waits for a seq that is not committed yet and never skips it", async () => {
    if (!a.db.transactions) return; // needs an open transaction to hold seq N back
    const ws = await connectWs(wsUrl(a.url), di.token);
    sockets.push(ws);
    const first = await ok<{ sendMessage: Sent }>(a, SEND, { i: { recipientId: di.id, content: "one" } }, amy);
    const convId = new Types.ObjectId(first.sendMessage.conversationId);
    const sub = ws.subscribe<Added>(ADDED, { c: first.sendMessage.conversationId, a: 0 });
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: 1, content: "one" });
    const doc = (seq: number, content: string) => ({
      _id: new Types.ObjectId(),
      conversation_id: convId,
      seq,
      sender_id: new Types.ObjectId(amy.id),
      recipient_id: new Types.ObjectId(di.id),
      content,
      status: "sent" as const,
      is_deleted: false,
    });
    // Seq 2 is taken by a transaction that has not committed; seq 3 is stored and announced.
    const session = await a.db.connection.startSession();
    session.startTransaction();
    const two = doc(2, "two");
    await a.db.models.Conversation.updateOne({ _id: convId }, { $inc: { last_seq: 1 }, $set: { last_message_id: two._id } }, { session });
    await a.db.models.DirectMessage.create([two], { session });
    const [three] = await a.db.models.DirectMessage.create([doc(3, "three")]);
    const sender = await a.db.models.User.findById(amy.id);
    const snapshot = await a.server.services.conversations.snapshot(convId);
    const fills = countReads(a, convId);
    a.server.services.pubSub.publish("CONVERSATION", convId.toHexString(), {
      type: "message.added",
      message: messageView(three, sender),
      conversation: snapshot!,
    });
    // The stream reads the gap from the database again and again, finding only 3 (2 is not
    // committed): seq 3 is held, never delivered past the missing 2. A stream runs one fill at
    // a time, so the ninth starting means eight were done; with the back-off doubling from
    // 20 ms they span more than 4 s, longer than the 3 s after which streams used to jump a hole.
    await until(() => fills.count >= 9, "nine fills of the gap to start", { intervalMs: 50, tries: 400 });
    fills.stop();
    expect(sub.pending).toEqual([]);
    await session.commitTransaction();
    await session.endSession();
    await a.db.models.Conversation.updateOne({ _id: convId }, { $set: { last_seq: 3, last_message_id: three._id } });
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: 2, content: "two" });
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: 3, content: "three" });
    sub.stop();
  });

  it("rolls a send back whole when a write fails after the seq was taken", async () => {
    const first = await ok<{ sendMessage: Sent }>(a, SEND, { i: { recipientId: cy.id, content: "start" } }, di);
    const convId = new Types.ObjectId(first.sendMessage.conversationId);
    // A document squatting on the next seq makes the insert fail after the $inc.
    const squatter = await a.db.models.DirectMessage.create({
      conversation_id: convId,
      seq: 2,
      sender_id: new Types.ObjectId(cy.id),
      recipient_id: new Types.ObjectId(di.id),
      content: "squat",
      status: "sent",
      is_deleted: false,
    });
    const before = await a.db.models.Conversation.findById(convId).lean();
    const failed = await a.gql(SEND, { i: { recipientId: cy.id, content: "lost?", clientMessageId: "rollback-1" } }, di.token);
    expect(failed.errors?.length).toBe(1);
    const after = await a.db.models.Conversation.findById(convId).lean();
    expect(after!.last_seq).toBe(before!.last_seq);
    expect(String(after!.last_message_id)).toBe(String(before!.last_message_id));
    expect(after!.members.find((m) => String(m.user_id) === di.id)?.read_seq).toBe(1);
    expect(await a.db.models.DirectMessage.countDocuments({ client_message_id: "rollback-1" })).toBe(0);
    // Without the squatter the retry succeeds with the seq the failed attempt did not keep.
    await a.db.models.DirectMessage.deleteOne({ _id: squatter._id });
    const retry = await ok<{ sendMessage: Sent }>(a, SEND, { i: { recipientId: cy.id, content: "lost?", clientMessageId: "rollback-1" } }, di);
    expect(retry.sendMessage.seq).toBe(2);
    expect((await seqsOf(a, convId.toHexString(), false)).seqs).toEqual([1, 2]);
  });
});

/** A standalone database (no transactions): the documented fallback, on the embedded server without a replica set. */
describe.skipIf(Boolean(process.env.MONGODB_URI))("gap-free seqs on a standalone database (fallback)", () => {
  let api: TestApi;
  let eve: TestUser, fay: TestUser;

  beforeAll(async () => {
    const embedded = await startEmbeddedMongo({ replicaSet: false });
    const mongo: TestMongo = { uri: embedded.uri, dbName: `standalone_${Date.now()}`, embedded, stop: () => embedded.stop() };
    api = await startTestApi({}, { shared: { mongo } });
    eve = await registerUser(api, "eve_s");
    fay = await registerUser(api, "fay_s");
  });
  afterAll(async () => {
    await api?.stop();
    await api?.mongo.stop();
  });

  it("finds no transactions, and still gives racing sends of one instance the seqs 1..N", async () => {
    expect(api.db.transactions).toBe(false);
    const calls: Array<Promise<{ cmid: string; id: string }>> = [];
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 3; k++) {
        calls.push(
          ok<{ sendMessage: Sent }>(api, SEND, { i: { recipientId: fay.id, content: `s ${i}`, clientMessageId: `s-${i}` } }, eve).then((d) => ({
            cmid: `s-${i}`,
            id: d.sendMessage.id,
          })),
        );
      }
    }
    const results = await Promise.all(calls);
    const conv = (await api.db.models.DirectMessage.findOne({ client_message_id: "s-0" }).lean())!.conversation_id.toHexString();
    expect((await seqsOf(api, conv, false)).seqs).toEqual(oneToN(10));
    for (let i = 0; i < 10; i++) expect(new Set(results.filter((r) => r.cmid === `s-${i}`).map((r) => r.id)).size).toBe(1);
  });

  it("gives the seq back when the insert fails after the $inc", async () => {
    const conv = (await api.db.models.DirectMessage.findOne({ client_message_id: "s-0" }).lean())!.conversation_id;
    const squatter = await api.db.models.DirectMessage.create({
      conversation_id: conv,
      seq: 11,
      sender_id: new Types.ObjectId(fay.id),
      recipient_id: new Types.ObjectId(eve.id),
      content: "squat",
      status: "sent",
      is_deleted: false,
    });
    const failed = await api.gql(SEND, { i: { recipientId: fay.id, content: "x" } }, eve.token);
    expect(failed.errors?.length).toBe(1);
    expect((await api.db.models.Conversation.findById(conv).lean())!.last_seq).toBe(10);
    await api.db.models.DirectMessage.deleteOne({ _id: squatter._id });
    expect((await ok<{ sendMessage: Sent }>(api, SEND, { i: { recipientId: fay.id, content: "y" } }, eve)).sendMessage.seq).toBe(11);
  });
});
