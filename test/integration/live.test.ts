/** Live delivery over real graphql-ws clients: replay without gap or duplicate, membership, limits, receipts, typing. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { listening, topic, unlistened } from "../helpers/topics.js";

/*
 * Streams without replay (typing, receipts, all-conversations) must be registered before the
 * events they wait for: graphql-ws does not acknowledge a subscribe, so a test waits until the
 * server listens on the event's topic (helpers/topics.ts).
 */

const ADDED = `subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { id seq content conversationId sender { username } } }`;
type Added = { messageAdded: { seq: number; content: string; conversationId: string; sender: { username: string } } };

describe("live delivery (graphql-ws)", () => {
  let api: TestApi;
  let kim: TestUser, lou: TestUser, max: TestUser;
  let conv = "";
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const send = async (from: TestUser, to: TestUser, content: string) => {
    const r = await api.gql<{ sendMessage: { seq: number; conversationId: string } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq conversationId } }`,
      { i: { recipientId: to.id, content } },
      from.token,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.sendMessage;
  };

  beforeAll(async () => {
    api = await startTestApi();
    kim = await registerUser(api, "kim");
    lou = await registerUser(api, "lou");
    max = await registerUser(api, "max");
    conv = (await send(kim, lou, "first")).conversationId;
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("replays what was missed while disconnected, in order, then continues live", async () => {
    const a = await ws(lou);
    const sub = a.subscribe<Added>(ADDED, { c: conv, a: 0 });
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: 1, content: "first", sender: { username: "kim" } });
    await send(kim, lou, "second");
    expect((await sub.next()).data?.messageAdded.seq).toBe(2);
    await a.close();
    // Disconnected: three messages arrive.
    for (const t of ["third", "fourth", "fifth"]) await send(kim, lou, t);
    const b = await ws(lou);
    const again = b.subscribe<Added>(ADDED, { c: conv, a: 2 });
    const replayed = [await again.next(), await again.next(), await again.next()].map((r) => r.data!.messageAdded);
    expect(replayed.map((m) => [m.seq, m.content])).toEqual([
      [3, "third"],
      [4, "fourth"],
      [5, "fifth"],
    ]);
    await send(lou, kim, "sixth");
    expect((await again.next()).data?.messageAdded).toMatchObject({ seq: 6, content: "sixth" });
    expect(again.pending).toHaveLength(0);
  });

  it("delivers concurrent sends exactly once and in seq order", async () => {
    const c = await ws(kim);
    // afterSeq makes the start point exact: anything sent before the subscription is live is replayed.
    const sub = c.subscribe<Added>(ADDED, { c: conv, a: 6 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 2 ? kim : lou, i % 2 ? lou : kim, `burst ${i}`)));
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) seqs.push((await sub.next()).data!.messageAdded.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => 7 + i));
  });

  it("publishes nothing for an idempotent retry", async () => {
    const c = await ws(lou);
    const sub = await listening(api, topic("CONVERSATION", conv), () => c.subscribe<Added>(ADDED, { c: conv }));
    const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`;
    const one = await api.gql<{ sendMessage: { seq: number } }>(SEND, { i: { recipientId: lou.id, content: "once", clientMessageId: "retry-1" } }, kim.token);
    const two = await api.gql<{ sendMessage: { seq: number } }>(SEND, { i: { recipientId: lou.id, content: "once", clientMessageId: "retry-1" } }, kim.token);
    expect(two.data?.sendMessage.seq).toBe(one.data?.sendMessage.seq);
    const sentinel = await send(kim, lou, "after the retry");
    expect((await sub.next()).data?.messageAdded.content).toBe("once");
    expect((await sub.next()).data?.messageAdded).toMatchObject({ seq: sentinel.seq, content: "after the retry" });
  });

  it("refuses to subscribe to someone else's conversation (NOT_FOUND: existence is not revealed)", async () => {
    const c = await ws(max);
    const sub = c.subscribe(ADDED, { c: conv });
    const first = await sub.next();
    expect(first.data ?? null).toBeNull();
    expect(first.errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("delivers new messages of all the viewer's conversations, including ones started later", async () => {
    const c = await ws(max);
    // The conversation does not exist yet: its creation is announced on max's user topic.
    const sub = await listening(api, topic("USER", max.id), () => c.subscribe<Added>(`subscription { messageAdded { seq content } }`));
    await send(kim, max, "hello max");
    expect((await sub.next()).data?.messageAdded).toEqual({ seq: 1, content: "hello max" });
    await send(kim, max, "again");
    expect((await sub.next()).data?.messageAdded).toEqual({ seq: 2, content: "again" });
  });

  it("sends receipts and typing to the other members only, and respects the settings", async () => {
    const ned = await registerUser(api, "ned");
    for (const t of ["r1", "r2", "r3", "r4"]) await send(kim, ned, t);
    const conv = (await send(kim, ned, "r5")).conversationId;
    const lou = ned;
    const kimWs = await ws(kim);
    const [receipts, typing] = await listening(
      api,
      [topic("CONVERSATION", conv), topic("CONVERSATION", conv)],
      () =>
        [
          kimWs.subscribe<{ receiptUpdated: { readSeq: number; deliveredSeq: number; user: { username: string } } }>(
            `subscription($c: ID) { receiptUpdated(conversationId: $c) { readSeq deliveredSeq user { username } } }`,
            { c: conv },
          ),
          kimWs.subscribe<{ typing: { isTyping: boolean; user: { username: string } } }>(
            `subscription($c: ID!) { typing(conversationId: $c) { isTyping user { username } } }`,
            { c: conv },
          ),
        ] as const,
    );
    await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 3) { readSeq } }`, { c: conv }, lou.token);
    expect((await receipts.next()).data?.receiptUpdated).toMatchObject({ readSeq: 3, user: { username: "ned" } });
    await api.gql(`mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: conv }, lou.token);
    expect((await typing.next()).data?.typing).toEqual({ isTyping: true, user: { username: "ned" } });
    // With read receipts off, a read no longer reaches others; with typing off, typing is ignored.
    await api.gql(`mutation { updateSettings(input: { readReceiptsEnabled: false, typingIndicatorsEnabled: false }) { id } }`, {}, lou.token);
    await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 4) { readSeq } }`, { c: conv }, lou.token);
    await api.gql(`mutation($c: ID!) { setTyping(conversationId: $c, isTyping: false) }`, { c: conv }, lou.token);
    await api.gql(`mutation { updateSettings(input: { typingIndicatorsEnabled: true }) { id } }`, {}, lou.token);
    await api.gql(`mutation($c: ID!) { setTyping(conversationId: $c, isTyping: false) }`, { c: conv }, lou.token);
    expect((await typing.next()).data?.typing).toEqual({ isTyping: false, user: { username: "ned" } });
    // The read part stays at its last shared value; delivery still shows.
    expect((await receipts.next()).data?.receiptUpdated).toMatchObject({ readSeq: 3, deliveredSeq: 4 });
    expect(typing.pending).toHaveLength(0);
    await api.gql(`mutation($c: ID!) { markDelivered(conversationId: $c, upToSeq: 10) { readSeq } }`, { c: conv }, lou.token);
    expect((await receipts.next()).data?.receiptUpdated).toMatchObject({ readSeq: 3, deliveredSeq: 5 });
  });

  it("updates the conversation list live with unread counts", async () => {
    const ola = await registerUser(api, "ola");
    const c = await ws(ola);
    const sub = await listening(api, topic("USER", ola.id), () =>
      c.subscribe<{ conversationUpdated: { id: string; unreadCount: number; lastSeq: number; lastMessage: { content: string } } }>(
        `subscription { conversationUpdated { id unreadCount lastSeq lastMessage { content } } }`,
      ),
    );
    await send(kim, ola, "count me");
    expect((await sub.next()).data?.conversationUpdated).toMatchObject({ lastSeq: 1, unreadCount: 1, lastMessage: { content: "count me" } });
    const sent = await send(kim, ola, "and me");
    expect((await sub.next()).data?.conversationUpdated).toMatchObject({ id: sent.conversationId, lastSeq: 2, unreadCount: 2 });
    await api.gql(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 2) { readSeq } }`, { c: sent.conversationId }, ola.token);
    expect((await sub.next()).data?.conversationUpdated).toMatchObject({ lastSeq: 2, unreadCount: 0 });
  });

  it("sends edits and deletions as messageUpdated", async () => {
    const c = await ws(lou);
    const sub = await listening(api, topic("CONVERSATION", conv), () =>
      c.subscribe<{ messageUpdated: { content: string | null; isDeleted: boolean } }>(
        `subscription($c: ID) { messageUpdated(conversationId: $c) { content isDeleted } }`,
        { c: conv },
      ),
    );
    const m = await api.gql<{ sendMessage: { id: string } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`,
      { i: { recipientId: lou.id, content: "typo" } },
      kim.token,
    );
    await api.gql(`mutation($id: ID!) { editMessage(id: $id, content: "fixed") { id } }`, { id: m.data!.sendMessage.id }, kim.token);
    expect((await sub.next()).data?.messageUpdated).toEqual({ content: "fixed", isDeleted: false });
    await api.gql(`mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: m.data!.sendMessage.id }, kim.token);
    expect((await sub.next()).data?.messageUpdated).toEqual({ content: null, isDeleted: true });
  });

  it("applies the HTTP limits on WebSocket operations and caps a connection at 100 subscriptions", async () => {
    const c = await ws(kim);
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: typing(conversationId: "${conv}") { isTyping }`).join(" ");
    const abusive = c.subscribe(`subscription { ${aliases} }`);
    // The armor's alias limit, as over HTTP (graphql-js also refuses the several root fields).
    await expect(abusive.next()).rejects.toEqual(
      expect.arrayContaining([{ message: "Aliases limit of 15 exceeded, found 40.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }]),
    );
    const TYPING = `subscription($c: ID!) { typing(conversationId: $c) { isTyping } }`;
    const onConv = topic("CONVERSATION", conv);
    // All 100 are running once the server listens for each of them.
    const subs = await listening(api, Array(100).fill(onConv), () => Array.from({ length: 100 }, () => c.subscribe(TYPING, { c: conv })));
    expect(subs.every((s) => !s.error)).toBe(true);
    const extra = c.subscribe(TYPING, { c: conv });
    await expect(extra.next()).rejects.toEqual([
      expect.objectContaining({ message: "At most 100 subscriptions per connection", extensions: { code: "BAD_USER_INPUT" } }),
    ]);
    // Freed once the server has ended the stopped one; the next is then accepted and running.
    await unlistened(api, onConv, () => subs[0].stop());
    const afterFree = await listening(api, onConv, () => c.subscribe(TYPING, { c: conv }));
    expect(afterFree.error, JSON.stringify(afterFree.error)).toBeUndefined();
  });
});
