/**
 * Issue 15 over real HTTP and graphql-ws: reactions (grouped by emoji, one per user, at most
 * MAX_DISTINCT_REACTIONS emoji, single-emoji validation, members only, blocks, removed members,
 * rate limit, live with viewerReacted per subscriber and no read per subscriber) and replies
 * (same conversation only, the quote through the loader, a tombstone once deleted).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type GqlResult, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { until, nextUpdateOf } from "../helpers/wait.js";
import { createGroup, ok } from "../helpers/social.js";
import { MAX_DISTINCT_REACTIONS } from "../../src/modules/message/reaction.service.js";
import { isSingleEmoji } from "../../src/modules/message/reaction.args.js";
import { MAX_MENTIONS } from "../../src/modules/message/message.input.js";

const REACTIONS = `reactions { emoji count viewerReacted users { id } }`;
const QUOTE = `replyTo { id messageType content isDeleted sender { id } }`;
const FIELDS = `id conversationId seq content isDeleted ${REACTIONS} ${QUOTE}`;
const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${FIELDS} } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { ${FIELDS} } }`;
const ADD = `mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { ${FIELDS} } }`;
const REMOVE = `mutation($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { ${FIELDS} } }`;
const HISTORY = `query($c: ID!) { messages(conversationId: $c, last: 20) { edges { node { ${FIELDS} } } } }`;
const PAGE = `query($c: ID!, $l: Int) { messages(conversationId: $c, last: $l) { edges { node { id ${QUOTE} } } } }`;
const UPDATED = `subscription($c: ID) { messageUpdated(conversationId: $c) { id ${REACTIONS} } }`;

interface Reaction {
  emoji: string;
  count: number;
  viewerReacted: boolean;
  users: Array<{ id: string }>;
}
interface Quote {
  id: string;
  messageType: string;
  content: string | null;
  isDeleted: boolean;
  sender: { id: string };
}
interface Msg {
  id: string;
  conversationId: string;
  seq: number;
  content: string | null;
  isDeleted: boolean;
  reactions: Reaction[];
  replyTo: Quote | null;
}
type Updated = { messageUpdated: { id: string; reactions: Reaction[] } };

const codeOf = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;
const fieldsOf = (r: GqlResult<unknown>) => (r.errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);

describe("reactions and replies", () => {
  let api: TestApi;
  let amy: TestUser, bo: TestUser, cal: TestUser, dan: TestUser, eve: TestUser;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const send = async (from: TestUser, to: TestUser, content: string, extra: Record<string, unknown> = {}) =>
    (await ok<{ sendMessage: Msg }>(api, SEND, { i: { recipientId: to.id, content, ...extra } }, from)).sendMessage;
  const add = (u: TestUser, m: string, e: string) => api.gql<{ addReaction: Msg }>(ADD, { m, e }, u.token);
  const remove = (u: TestUser, m: string, e: string) => api.gql<{ removeReaction: Msg }>(REMOVE, { m, e }, u.token);
  const stored = async (id: string) => (await api.db.models.DirectMessage.findById(id).lean()) ?? (await api.db.models.GroupMessage.findById(id).lean());

  beforeAll(async () => {
    api = await startTestApi();
    [amy, bo, cal, dan, eve] = await Promise.all(["amy_r", "bo_r", "cal_r", "dan_r", "eve_r"].map((n) => registerUser(api, n)));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  describe("reactions", () => {
    it("groups by emoji with counts, the first users and viewerReacted; adding twice is a no-op; removing frees the emoji", async () => {
      const m = await send(amy, bo, "react to me");
      expect(m.reactions).toEqual([]);
      const first = await add(amy, m.id, "👍");
      expect(first.errors).toBeUndefined();
      expect(first.data!.addReaction.reactions).toEqual([{ emoji: "👍", count: 1, viewerReacted: true, users: [{ id: amy.id }] }]);
      // Idempotent: the same user and emoji again counts once.
      expect((await add(amy, m.id, "👍")).data!.addReaction.reactions).toEqual([{ emoji: "👍", count: 1, viewerReacted: true, users: [{ id: amy.id }] }]);
      const both = (await add(bo, m.id, "👍")).data!.addReaction.reactions;
      expect(both).toEqual([{ emoji: "👍", count: 2, viewerReacted: true, users: [{ id: amy.id }, { id: bo.id }] }]);
      // A ZWJ sequence and a flag are one emoji each.
      await ok(api, ADD, { m: m.id, e: "👩‍💻" }, bo);
      await ok(api, ADD, { m: m.id, e: "🇫🇷" }, bo);

      // Each reader sees their own viewerReacted.
      const seenBy = async (u: TestUser) =>
        (await ok<{ messages: { edges: Array<{ node: Msg }> } }>(api, HISTORY, { c: m.conversationId }, u)).messages.edges
          .map((e) => e.node)
          .find((n) => n.id === m.id)!;
      expect((await seenBy(amy)).reactions.map((r) => [r.emoji, r.count, r.viewerReacted])).toEqual([
        ["👍", 2, true],
        ["👩‍💻", 1, false],
        ["🇫🇷", 1, false],
      ]);
      expect((await seenBy(bo)).reactions.map((r) => r.viewerReacted)).toEqual([true, true, true]);

      // Removing: the count goes down; the last user's removal drops the emoji; removing again changes nothing.
      expect((await remove(amy, m.id, "👍")).data!.removeReaction.reactions[0]).toEqual({
        emoji: "👍",
        count: 1,
        viewerReacted: false,
        users: [{ id: bo.id }],
      });
      expect((await remove(bo, m.id, "👩‍💻")).data!.removeReaction.reactions.map((r) => r.emoji)).toEqual(["👍", "🇫🇷"]);
      expect((await remove(bo, m.id, "👩‍💻")).data!.removeReaction.reactions.map((r) => r.emoji)).toEqual(["👍", "🇫🇷"]);
      const doc = await stored(m.id);
      expect(doc?.reactions?.map((r) => ({ emoji: r.emoji, count: r.count, users: r.user_ids.map(String) }))).toEqual([
        { emoji: "👍", count: 1, users: [bo.id] },
        { emoji: "🇫🇷", count: 1, users: [bo.id] },
      ]);
    });

    it("keeps counts exact under concurrent adds of the same emoji", async () => {
      const m = await send(amy, bo, "race");
      const results = await Promise.all([amy, bo, amy, bo, amy].map((u) => add(u, m.id, "🔥")));
      for (const r of results) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      const doc = await stored(m.id);
      expect(doc?.reactions).toHaveLength(1);
      expect(doc?.reactions?.[0].count).toBe(2);
      expect(doc?.reactions?.[0].user_ids.map(String).sort()).toEqual([amy.id, bo.id].sort());
    });

    it(`refuses a ${MAX_DISTINCT_REACTIONS + 1}st distinct emoji, and anything but one emoji, naming the field and changing nothing`, async () => {
      const m = await send(amy, bo, "many");
      const emoji = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚", "🙂", "🤗", "🤩"];
      for (const e of emoji.slice(0, MAX_DISTINCT_REACTIONS)) await ok(api, ADD, { m: m.id, e }, amy);
      const over = await add(bo, m.id, emoji[MAX_DISTINCT_REACTIONS]);
      expect(codeOf(over)).toBe("BAD_USER_INPUT");
      expect(fieldsOf(over)).toEqual(["emoji"]);
      // An emoji already there still takes another user.
      expect((await add(bo, m.id, emoji[0])).data!.addReaction.reactions[0].count).toBe(2);
      for (const bad of ["a", "", "👍👍", "👍 ", "1", ":+1:"]) {
        const r = await add(amy, m.id, bad);
        expect(codeOf(r), bad).toBe("BAD_USER_INPUT");
        expect(fieldsOf(r)).toEqual(["emoji"]);
      }
      const doc = await stored(m.id);
      expect(doc?.reactions).toHaveLength(MAX_DISTINCT_REACTIONS);
      expect(doc?.reactions?.some((r) => r.emoji === emoji[MAX_DISTINCT_REACTIONS])).toBe(false);
      // Skin tones are one grapheme too.
      expect(isSingleEmoji("👍🏽")).toBe(true);
      expect(isSingleEmoji("x")).toBe(false);
    });

    it("refuses non-members, removed members, blocked users and deleted messages", async () => {
      const m = await send(amy, bo, "private");
      expect(codeOf(await add(cal, m.id, "👍"))).toBe("NOT_FOUND");
      expect(codeOf(await add(cal, "0123456789abcdef01234567", "👍"))).toBe("NOT_FOUND");

      // A block in a direct conversation refuses reactions as it refuses sends, both ways.
      const d = await send(amy, dan, "before the block");
      await ok(api, `mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: amy.id }, dan);
      expect(codeOf(await add(amy, d.id, "👍"))).toBe("BLOCKED");
      expect(codeOf(await add(dan, d.id, "👍"))).toBe("BLOCKED");
      await ok(api, `mutation($u: ID!) { unblockUser(userId: $u) }`, { u: amy.id }, dan);

      // A removed group member can no longer react.
      const g = await createGroup(api, amy, [eve], "react-g");
      const gm = (await ok<{ sendGroupMessage: Msg }>(api, SEND_GROUP, { i: { groupId: g, content: "group" } }, amy)).sendGroupMessage;
      await ok(api, ADD, { m: gm.id, e: "🎉" }, eve);
      await ok(api, `mutation($u: ID!, $g: ID!) { removeGroupMember(userId: $u, groupId: $g) { id } }`, { u: eve.id, g }, amy);
      expect(codeOf(await add(eve, gm.id, "👍"))).toBe("NOT_FOUND");
      expect(codeOf(await remove(eve, gm.id, "🎉"))).toBe("NOT_FOUND");

      // A deleted message takes no reaction, and shows none.
      await ok(api, ADD, { m: m.id, e: "👍" }, bo);
      const deleted = await ok<{ deleteMessage: Msg }>(api, `mutation($id: ID!) { deleteMessage(id: $id) { ${FIELDS} } }`, { id: m.id }, amy);
      expect(deleted.deleteMessage.reactions).toEqual([]);
      expect(codeOf(await add(bo, m.id, "😀"))).toBe("FORBIDDEN");
      expect((await stored(d.id))?.reactions).toBeUndefined();
    });

    it("reaches every member live with their own viewerReacted, with no read per subscriber", async () => {
      const probe = await send(amy, bo, "probe");
      const m = await send(amy, bo, "live");
      const amyWs = await ws(amy);
      const boWs = await ws(bo);
      const streams = [amyWs.subscribe<Updated>(UPDATED, { c: m.conversationId }), boWs.subscribe<Updated>(UPDATED, { c: m.conversationId })];
      // graphql-ws does not acknowledge a subscribe: react to a probe until both streams show it.
      let n = 0;
      await until(async () => {
        await ok(api, n++ % 2 ? REMOVE : ADD, { m: probe.id, e: "👀" }, amy);
        return streams.every((s) => s.pending.some((r) => r.data?.messageUpdated.id === probe.id));
      }, "messageUpdated streams to be live");

      await ok(api, ADD, { m: m.id, e: "❤️" }, bo);
      const [forAmy, forBo] = await Promise.all(streams.map((s) => nextUpdateOf(s, m.id)));
      expect(forAmy.reactions).toEqual([{ emoji: "❤️", count: 1, viewerReacted: false, users: [{ id: bo.id }] }]);
      expect(forBo.reactions).toEqual([{ emoji: "❤️", count: 1, viewerReacted: true, users: [{ id: bo.id }] }]);

      // One subscriber or two: the same commands (the event carries the reactions).
      const deliver = async (subs: typeof streams, run: () => Promise<unknown>) =>
        (
          await countCommands(api, async () => {
            await run();
            for (const s of subs) await nextUpdateOf(s, m.id);
          })
        ).count;
      const withTwo = await deliver(streams, () => ok(api, ADD, { m: m.id, e: "❤️" }, amy));
      streams[1].stop();
      const withOne = await deliver([streams[0]], () => ok(api, REMOVE, { m: m.id, e: "❤️" }, amy));
      expect(withTwo).toBe(withOne);
    });

    it("is rate limited per user (REACTION_RATE_LIMIT)", async () => {
      const limited = await startTestApi({ REACTION_RATE_LIMIT: "3/3600" });
      try {
        const [a, b] = await Promise.all(["amy_rl", "bo_rl"].map((u) => registerUser(limited, u)));
        const m = (await ok<{ sendMessage: Msg }>(limited, SEND, { i: { recipientId: b.id, content: "rl" } }, a)).sendMessage;
        for (const e of ["😀", "😁", "😂"]) await ok(limited, ADD, { m: m.id, e }, a);
        const refused = await limited.gql(ADD, { m: m.id, e: "🤣" }, a.token);
        expect(codeOf(refused)).toBe("RATE_LIMITED");
        // Another user's budget is their own.
        await ok(limited, ADD, { m: m.id, e: "🤣" }, b);
        expect((await limited.db.models.DirectMessage.findById(m.id).lean())?.reactions?.map((r) => r.emoji)).toEqual(["😀", "😁", "😂", "🤣"]);
      } finally {
        await limited.stop();
      }
    });
  });

  describe("replies", () => {
    it("quotes a message of the same conversation (sender, type, first 200 characters), a tombstone once deleted", async () => {
      const long = "é".repeat(150) + "🙂".repeat(100);
      const original = await send(bo, amy, long);
      const reply = await send(amy, bo, "answer", { replyToId: original.id });
      expect(reply.replyTo).toEqual({
        id: original.id,
        messageType: "TEXT",
        content: [...long].slice(0, 200).join(""),
        isDeleted: false,
        sender: { id: bo.id },
      });
      expect([...reply.replyTo!.content!]).toHaveLength(200);
      expect(original.replyTo).toBeNull();

      await ok(api, `mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: original.id }, bo);
      const page = await ok<{ messages: { edges: Array<{ node: Msg }> } }>(api, HISTORY, { c: reply.conversationId }, bo);
      expect(page.messages.edges.find((e) => e.node.id === reply.id)?.node.replyTo).toEqual({
        id: original.id,
        messageType: "TEXT",
        content: null,
        isDeleted: true,
        sender: { id: bo.id },
      });
      expect(String((await stored(reply.id))?.reply_to)).toBe(original.id);
    });

    it("quotes in groups, and resolves a page of replies in one batched read", async () => {
      const [gy, gb, gc] = await Promise.all(["gy_r", "gb_r", "gc_r"].map((n) => registerUser(api, n)));
      const g = await createGroup(api, gy, [gb, gc], "reply-g");
      const sendG = async (u: TestUser, content: string, replyToId?: string) =>
        (await ok<{ sendGroupMessage: Msg }>(api, SEND_GROUP, { i: { groupId: g, content, ...(replyToId ? { replyToId } : {}) } }, u)).sendGroupMessage;
      const q = await sendG(gc, "question");
      const replies = [];
      for (let i = 0; i < 5; i++) replies.push(await sendG(i % 2 ? gy : gb, `answer ${i}`, q.id));
      expect(replies.every((r) => r.replyTo?.id === q.id && r.replyTo.content === "question")).toBe(true);
      // A page with one reply and a page with five cost the same commands: the quotes come in the loader's batch.
      const page = async (l: number) => (await countCommands(api, () => ok(api, PAGE, { c: q.conversationId, l }, gy))).count;
      expect(await page(5)).toBe(await page(1));
    });

    it("refuses a replyToId of another conversation (or unknown), naming it and storing nothing", async () => {
      const elsewhere = await send(amy, cal, "other conversation");
      const fay = await registerUser(api, "fay_r");
      const g = await createGroup(api, amy, [fay], "reply-g2");
      const gm = (await ok<{ sendGroupMessage: Msg }>(api, SEND_GROUP, { i: { groupId: g, content: "in group" } }, amy)).sendGroupMessage;
      const here = await send(amy, bo, "here");
      const before = await api.db.models.DirectMessage.countDocuments({ conversation_id: here.conversationId });
      for (const replyToId of [elsewhere.id, gm.id, "0123456789abcdef01234567", "nope"]) {
        const r = await api.gql(SEND, { i: { recipientId: bo.id, content: "reply", replyToId } }, amy.token);
        expect(codeOf(r), replyToId).toBe("BAD_USER_INPUT");
        expect(fieldsOf(r)).toEqual(["replyToId"]);
      }
      const toGroup = await api.gql(SEND_GROUP, { i: { groupId: g, content: "reply", replyToId: here.id } }, amy.token);
      expect(codeOf(toGroup)).toBe("BAD_USER_INPUT");
      expect(fieldsOf(toGroup)).toEqual(["replyToId"]);
      expect(await api.db.models.DirectMessage.countDocuments({ conversation_id: here.conversationId })).toBe(before);
    });
  });

  describe("mentions", () => {
    const CONV = `query($id: ID!) { conversation(id: $id) { unreadMentionCount unreadCount } }`;
    const GSEND = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id conversationId seq mentions { id } } }`;
    type Sent = { id: string; conversationId: string; seq: number; mentions: Array<{ id: string }> };

    it("stores members' mentions and counts them per member after the read mark, muted or not", async () => {
      const [ma, mb, mc, outsider] = await Promise.all(["ma_r", "mb_r", "mc_r", "mo_r"].map((n) => registerUser(api, n)));
      const g = await createGroup(api, ma, [mb, mc], "mention-g");
      const gsend = async (u: TestUser, content: string, mentions?: string[]) =>
        (await ok<{ sendGroupMessage: Sent }>(api, GSEND, { i: { groupId: g, content, ...(mentions ? { mentions } : {}) } }, u)).sendGroupMessage;
      const counts = async (u: TestUser) =>
        (await ok<{ conversation: { unreadMentionCount: number; unreadCount: number } }>(api, CONV, { id: g }, u)).conversation;

      const first = await gsend(ma, "hi @mb", [mb.id, mb.id]);
      expect(first.mentions).toEqual([{ id: mb.id }]);
      await ok(api, `mutation($c: ID!) { muteConversation(conversationId: $c) { id } }`, { c: g }, mb);
      await gsend(mc, "also @mb and @ma", [mb.id, ma.id]);
      await gsend(mc, "no mention");
      // The sender mentioning themselves is not an unread mention.
      await gsend(mb, "me @mb", [mb.id]);
      expect(await counts(mb)).toMatchObject({ unreadMentionCount: 0 });

      // mb's own message moved mb's read mark; later mentions count again.
      const later = await gsend(ma, "later @mb", [mb.id]);
      const deleted = await gsend(mc, "deleted @mb", [mb.id]);
      await ok(api, `mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: deleted.id }, mc);
      expect(await counts(mb)).toMatchObject({ unreadMentionCount: 1 });
      expect(await counts(ma)).toMatchObject({ unreadMentionCount: 0 });
      expect(await counts(mc)).toMatchObject({ unreadMentionCount: 0 });

      // A list of conversations asks once per message collection, not once per conversation.
      await ok(api, `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }`, { c: g, s: later.seq - 1 }, mb);
      expect(await counts(mb)).toMatchObject({ unreadMentionCount: 1 });
      await ok(api, `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { unreadMentionCount } }`, { c: g, s: later.seq }, mb);
      expect(await counts(mb)).toMatchObject({ unreadMentionCount: 0 });

      // Only members, at most MAX_MENTIONS, else BAD_USER_INPUT naming mentions; nothing stored.
      const lastSeq = (await api.db.models.Conversation.findById(g).lean())!.last_seq;
      for (const mentions of [[outsider.id], [mb.id, outsider.id], ["nope"], Array.from({ length: MAX_MENTIONS + 1 }, () => mb.id)]) {
        const r = await api.gql(GSEND, { i: { groupId: g, content: "x", mentions } }, ma.token);
        expect(codeOf(r)).toBe("BAD_USER_INPUT");
        expect(fieldsOf(r)).toEqual(["mentions"]);
      }
      const direct = await api.gql(SEND, { i: { recipientId: mb.id, content: "x", mentions: [mc.id] } }, ma.token);
      expect(fieldsOf(direct)).toEqual(["mentions"]);
      expect((await api.db.models.Conversation.findById(g).lean())!.last_seq).toBe(lastSeq);
    });

    it("counts a page of conversations in one query per message collection", async () => {
      const [owner, ...others] = await Promise.all(["mp_r", "mq_r", "ms_r", "mt_r"].map((n) => registerUser(api, n)));
      for (const o of others) await ok(api, SEND, { i: { recipientId: owner.id, content: "@owner", mentions: [owner.id] } }, o);
      const LIST = `query { conversations(first: 20) { edges { node { id unreadMentionCount } } } }`;
      const run = () => ok<{ conversations: { edges: Array<{ node: { unreadMentionCount: number } }> } }>(api, LIST, {}, owner);
      expect((await run()).conversations.edges.map((e) => e.node.unreadMentionCount)).toEqual([1, 1, 1]);
      // Three direct conversations: one more command than the same list without the field, not three.
      const withField = (await countCommands(api, run)).count;
      const without = (await countCommands(api, () => ok(api, `query { conversations(first: 20) { edges { node { id } } } }`, {}, owner))).count;
      expect(withField - without).toBe(1);
    });
  });
});
