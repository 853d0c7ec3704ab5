/** Direct and group messages over real HTTP: rules, receipts, unread counts, history, search, order. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id conversationId seq clientMessageId content messageType status isDeleted sender { username } recipient { username } } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id conversationId seq readCount deliveredCount group { name } } }`;
const CONVS = `{ conversations { totalCount edges { node { __typename id lastSeq unreadCount readSeq deliveredSeq lastMessage { content } ... on DirectConversation { peer { username } } ... on GroupConversation { group { name } } } } } }`;

interface Sent {
  id: string;
  conversationId: string;
  seq: number;
  status: string;
}

describe("messaging", () => {
  let api: TestApi;
  let amy: TestUser, bo: TestUser, cal: TestUser;

  beforeAll(async () => {
    api = await startTestApi();
    amy = await registerUser(api, "amy");
    bo = await registerUser(api, "bob_m");
    cal = await registerUser(api, "cal");
  });
  afterAll(async () => {
    await api?.stop();
  });

  const send = async (from: TestUser, to: TestUser, content: string, extra: Record<string, unknown> = {}) => {
    const res = await api.gql<{ sendMessage: Sent }>(SEND, { i: { recipientId: to.id, content, ...extra } }, from.token);
    return res;
  };

  it("sends direct messages with seq 1, 2, 3 and counts unread for the recipient only", async () => {
    const r1 = await send(amy, bo, "hi bo");
    expect(r1.errors).toBeUndefined();
    expect(r1.data?.sendMessage).toMatchObject({
      seq: 1,
      content: "hi bo",
      messageType: "TEXT",
      status: "SENT",
      isDeleted: false,
      sender: { username: "amy" },
      recipient: { username: "bob_m" },
    });
    await send(amy, bo, "are you there?");
    const convs = await api.gql<{ conversations: { edges: Array<{ node: Record<string, unknown> }> } }>(CONVS, {}, bo.token);
    expect(convs.data?.conversations.edges[0].node).toMatchObject({
      __typename: "DirectConversation",
      lastSeq: 2,
      unreadCount: 2,
      readSeq: 0,
      lastMessage: { content: "are you there?" },
      peer: { username: "amy" },
    });
    const mine = await api.gql<{ conversations: { edges: Array<{ node: Record<string, unknown> }> } }>(CONVS, {}, amy.token);
    expect(mine.data?.conversations.edges[0].node).toMatchObject({ unreadCount: 0, readSeq: 2 });
  });

  it("moves watermarks forward only and shows DELIVERED/READ to the sender", async () => {
    const conv = (await api.gql<{ directConversation: { id: string } }>(`query($u: ID!) { directConversation(userId: $u) { id } }`, { u: amy.id }, bo.token))
      .data!.directConversation.id;
    const delivered = await api.gql(
      `mutation($c: ID!) { markDelivered(conversationId: $c, upToSeq: 2) { deliveredSeq readSeq unreadCount } }`,
      { c: conv },
      bo.token,
    );
    expect(delivered.data).toEqual({ markDelivered: { deliveredSeq: 2, readSeq: 0, unreadCount: 2 } });
    const read = await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { deliveredSeq readSeq unreadCount } }`, { c: conv }, bo.token);
    expect(read.data).toEqual({ markRead: { deliveredSeq: 2, readSeq: 1, unreadCount: 1 } });
    const back = await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 0) { readSeq } }`, { c: conv }, bo.token);
    expect(back.data).toEqual({ markRead: { readSeq: 1 } });
    const history = await api.gql<{ messages: { edges: Array<{ node: { seq: number; status: string } }> } }>(
      `query($c: ID!) { messages(conversationId: $c, first: 10) { edges { node { seq ... on Message { status } } } } }`,
      { c: conv },
      amy.token,
    );
    expect(history.data?.messages.edges.map((e) => e.node)).toEqual([
      { seq: 1, status: "READ" },
      { seq: 2, status: "DELIVERED" },
    ]);
    const stored = await api.db.models.DirectMessage.find({ conversation_id: conv }).sort({ seq: 1 }).lean();
    expect(stored.map((m) => m.status)).toEqual(["read", "delivered"]);
    expect(
      (await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: -1) { readSeq } }`, { c: conv }, bo.token)).errors?.[0].extensions?.code,
    ).toBe("BAD_USER_INPUT");
    // Outsiders get NOT_FOUND, as for an unknown conversation.
    expect(
      (await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { readSeq } }`, { c: conv }, cal.token)).errors?.[0].extensions?.code,
    ).toBe("NOT_FOUND");
  });

  it("hides READ from others when the reader disabled read receipts", async () => {
    await api.gql(`mutation { updateSettings(input: { readReceiptsEnabled: false }) { id } }`, {}, cal.token);
    const m = (await send(amy, cal, "secret read")).data!.sendMessage;
    await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { readSeq } }`, { c: m.conversationId }, cal.token);
    const asSender = await api.gql<{ messages: { edges: Array<{ node: { status: string } }> } }>(
      `query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { ... on Message { status } } } } }`,
      { c: m.conversationId },
      amy.token,
    );
    expect(asSender.data?.messages.edges[0].node.status).toBe("DELIVERED");
    const asReader = await api.gql<{ messages: { edges: Array<{ node: { status: string } }> } }>(
      `query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { ... on Message { status } } } } }`,
      { c: m.conversationId },
      cal.token,
    );
    expect(asReader.data?.messages.edges[0].node.status).toBe("READ");
    await api.gql(`mutation { updateSettings(input: { readReceiptsEnabled: true }) { id } }`, {}, cal.token);
  });

  it("lists conversations by last activity", async () => {
    await send(bo, cal, "bo to cal");
    await send(bo, amy, "bo to amy");
    const order = async () =>
      (
        (await api.gql<{ conversations: { edges: Array<{ node: { peer?: { username: string } } }> } }>(CONVS, {}, bo.token)).data?.conversations.edges ?? []
      ).map((e) => e.node.peer?.username);
    expect(await order()).toEqual(["amy", "cal"]);
    await send(cal, bo, "cal again");
    expect(await order()).toEqual(["cal", "amy"]);
  });

  it("is idempotent per clientMessageId: the retry returns the first message and stores nothing", async () => {
    const a = (await send(amy, bo, "once", { clientMessageId: "c-1" })).data!.sendMessage;
    const b = (await send(amy, bo, "once again", { clientMessageId: "c-1" })).data!.sendMessage;
    expect(b.id).toBe(a.id);
    expect(b.seq).toBe(a.seq);
    expect(await api.db.models.DirectMessage.countDocuments({ client_message_id: "c-1" })).toBe(1);
  });

  it("enforces the content rules and refuses blocked and inactive recipients", async () => {
    expect((await send(amy, bo, "   ")).errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "content" }] });
    expect((await send(amy, bo, "x".repeat(10_001))).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await send(amy, bo, "pic", { messageType: "IMAGE" })).errors?.[0].extensions).toMatchObject({ fields: [{ field: "attachmentId" }] });
    expect((await send(amy, bo, "pic", { messageType: "IMAGE", attachmentId: "0123456789abcdef01234567" })).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await send(amy, amy, "me")).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const dan = await registerUser(api, "dan");
    await api.gql(`mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: amy.id }, dan.token);
    expect((await send(amy, dan, "hello?")).errors?.[0].extensions?.code).toBe("BLOCKED");
    expect((await send(dan, amy, "hello?")).errors?.[0].extensions?.code).toBe("BLOCKED");
    const eve = await registerUser(api, "eve");
    await api.gql(`mutation { deactivateAccount(password: "password-123") }`, {}, eve.token);
    expect((await send(amy, eve, "hello?")).errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });

  it("takes only the sender's own upload of a kind that fits the message type as attachment", async () => {
    const { Types } = await import("mongoose");
    const { MediaType } = await import("../../src/modules/media/media.entity.js");
    const mine = await api.db.models.Media.create({
      filename: "a.ogg",
      original_filename: "a.ogg",
      file_size: 5,
      media_type: MediaType.AUDIO,
      mime_type: "audio/ogg",
      uploader_id: new Types.ObjectId(amy.id),
    });
    const theirs = await api.db.models.Media.create({
      filename: "b.png",
      original_filename: "b.png",
      file_size: 5,
      media_type: MediaType.IMAGE,
      mime_type: "image/png",
      uploader_id: new Types.ObjectId(bo.id),
    });
    const doc = await api.db.models.File.create({
      filename: "c.pdf",
      original_filename: "c.pdf",
      file_size: 5,
      mime_type: "application/pdf",
      uploader_id: new Types.ObjectId(amy.id),
    });
    expect((await send(amy, bo, "", { messageType: "IMAGE", attachmentId: mine._id.toHexString() })).errors?.[0].extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      fields: [{ field: "attachmentId" }],
    });
    expect((await send(amy, bo, "", { messageType: "IMAGE", attachmentId: theirs._id.toHexString() })).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const audio = await api.gql<{ sendMessage: { messageType: string; attachment: { __typename: string; mediaType: string } } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { messageType attachment { __typename ... on Media { mediaType } } } }`,
      { i: { recipientId: bo.id, messageType: "AUDIO", attachmentId: mine._id.toHexString() } },
      amy.token,
    );
    expect(audio.data?.sendMessage).toEqual({ messageType: "AUDIO", attachment: { __typename: "Media", mediaType: "AUDIO" } });
    const file = await api.gql<{ sendMessage: { attachment: { __typename: string; originalFilename: string } } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { attachment { __typename ... on File { originalFilename } } } }`,
      { i: { recipientId: bo.id, messageType: "DOCUMENT", content: "the report", attachmentId: doc._id.toHexString() } },
      amy.token,
    );
    expect(file.data?.sendMessage.attachment).toEqual({ __typename: "File", originalFilename: "c.pdf" });
  });

  it("pages history by seq both ways", async () => {
    const [p1, p2] = [await registerUser(api, "pager1"), await registerUser(api, "pager2")];
    const conv = (await send(p1, p2, "m1")).data!.sendMessage.conversationId;
    for (let i = 2; i <= 7; i++) await send(i % 2 ? p1 : p2, i % 2 ? p2 : p1, `m${i}`);
    const bo = p2;
    const Q = `query($c: ID!, $l: Int, $b: String, $f: Int, $a: String) { messages(conversationId: $c, last: $l, before: $b, first: $f, after: $a) { edges { cursor node { seq content } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    type Page = {
      messages: {
        edges: Array<{ node: { seq: number } }>;
        pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean; startCursor: string; endCursor: string };
      };
    };
    const newest = (await api.gql<Page>(Q, { c: conv, l: 3 }, bo.token)).data!.messages;
    expect(newest.edges.map((e) => e.node.seq)).toEqual([5, 6, 7]);
    expect(newest.pageInfo.hasPreviousPage).toBe(true);
    const older = (await api.gql<Page>(Q, { c: conv, l: 3, b: newest.pageInfo.startCursor }, bo.token)).data!.messages;
    expect(older.edges.map((e) => e.node.seq)).toEqual([2, 3, 4]);
    const oldest = (await api.gql<Page>(Q, { c: conv, l: 3, b: older.pageInfo.startCursor }, bo.token)).data!.messages;
    expect(oldest.edges.map((e) => e.node.seq)).toEqual([1]);
    expect(oldest.pageInfo.hasPreviousPage).toBe(false);
    const forward = (await api.gql<Page>(Q, { c: conv, f: 4, a: oldest.pageInfo.endCursor }, bo.token)).data!.messages;
    expect(forward.edges.map((e) => e.node.seq)).toEqual([2, 3, 4, 5]);
    expect((await api.gql(Q, { c: conv, l: 3 }, amy.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("edits and soft-deletes (sender only), and search never finds deleted messages", async () => {
    const m = (await send(amy, bo, "pineapple pizza tonight")).data!.sendMessage;
    expect((await api.gql(`mutation($id: ID!) { editMessage(id: $id, content: "x") { id } }`, { id: m.id }, bo.token)).errors?.[0].extensions?.code).toBe(
      "FORBIDDEN",
    );
    const edited = await api.gql(
      `mutation($id: ID!) { editMessage(id: $id, content: "pineapple pasta tonight") { content editedAt } }`,
      { id: m.id },
      amy.token,
    );
    expect(edited.data).toMatchObject({ editMessage: { content: "pineapple pasta tonight", editedAt: expect.any(String) } });
    const found = await api.gql<{ searchMessages: { edges: Array<{ node: { id: string } }> } }>(
      `{ searchMessages(query: "pineapple") { edges { node { id content } } } }`,
      {},
      bo.token,
    );
    expect(found.data?.searchMessages.edges.map((e) => e.node.id)).toEqual([m.id]);
    expect(
      (await api.gql<{ searchMessages: { edges: unknown[] } }>(`{ searchMessages(query: "pineapple") { edges { node { id } } } }`, {}, cal.token)).data
        ?.searchMessages.edges,
    ).toEqual([]);
    expect((await api.gql(`mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: m.id }, bo.token)).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const del = await api.gql(`mutation($id: ID!) { deleteMessage(id: $id) { content isDeleted } }`, { id: m.id }, amy.token);
    expect(del.data).toEqual({ deleteMessage: { content: null, isDeleted: true } });
    expect((await api.gql(`mutation($id: ID!) { editMessage(id: $id, content: "again") { id } }`, { id: m.id }, amy.token)).errors?.[0].extensions?.code).toBe(
      "FORBIDDEN",
    );
    expect(
      (await api.gql<{ searchMessages: { edges: unknown[] } }>(`{ searchMessages(query: "pineapple") { edges { node { id } } } }`, {}, bo.token)).data
        ?.searchMessages.edges,
    ).toEqual([]);
  });

  it("gives 3 concurrent senders × 200 messages the seqs 1..600 with no gap or duplicate", async () => {
    const group = await api.gql<{ createGroup: { id: string } }>(
      `mutation($m: [ID!]!) { createGroup(input: { name: "busy", memberIds: $m }) { id } }`,
      { m: [bo.id, cal.id] },
      amy.token,
    );
    const groupId = group.data!.createGroup.id;
    const sender = async (u: TestUser) => {
      const seqs: number[] = [];
      for (let i = 0; i < 200; i++) {
        const r = await api.gql<{ sendGroupMessage: { seq: number } }>(SEND_GROUP, { i: { groupId, content: `${u.username} ${i}` } }, u.token);
        expect(r.errors).toBeUndefined();
        seqs.push(r.data!.sendGroupMessage.seq);
      }
      return seqs;
    };
    const all = (await Promise.all([sender(amy), sender(bo), sender(cal)])).flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    const stored = await api.db.models.GroupMessage.find({ conversation_id: groupId }, { seq: 1 }).sort({ seq: 1 }).lean();
    expect(stored.map((m) => m.seq)).toEqual(all);
  }, 120_000);
});
