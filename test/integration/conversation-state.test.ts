/**
 * Per-member conversation state (mute, archive, pin to the top, mark unread), the conversation
 * list's order and filter, and pinned messages, over real HTTP and graphql-ws: rights (outsiders,
 * removed members, non-admins, blocked users), caps and bad input.
 */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { createGroup, ok, sendDirect, sendGroup } from "../helpers/social.js";
import { until } from "../helpers/wait.js";

const STATE = `id lastSeq mutedUntil isArchived isPinned isMarkedUnread`;
const LIST = `query($a: String, $f: Int, $arch: Boolean) { conversations(after: $a, first: $f, archived: $arch) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${STATE} } } } }`;
const MUTE = `mutation($c: ID!, $u: DateTime) { muteConversation(conversationId: $c, until: $u) { ${STATE} } }`;
const PIN_MSG = `mutation($m: ID!) { pinMessage(messageId: $m) { id pinnedMessages { id content } } }`;
const UNPIN_MSG = `mutation($m: ID!) { unpinMessage(messageId: $m) { id pinnedMessages { id content } } }`;
const UPDATED = `subscription { conversationUpdated { ${STATE} pinnedMessages { content } } }`;

interface State {
  id: string;
  lastSeq: number;
  mutedUntil: string | null;
  isArchived: boolean;
  isPinned: boolean;
  isMarkedUnread: boolean;
}
type Updated = { conversationUpdated: State & { pinnedMessages: Array<{ content: string }> } };
type ListResult = {
  conversations: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: Array<{ cursor: string; node: State }> };
};

describe("conversation state and pins", () => {
  let api: TestApi;
  let ann: TestUser, ben: TestUser, cat: TestUser, dee: TestUser, eve: TestUser;
  let annBen = "",
    annCat = "",
    annDee = "",
    benCat = "";
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const code = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => r.errors?.[0]?.extensions?.code;
  const fields = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> }) =>
    (r.errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);
  const state = async (u: TestUser, id: string) =>
    (await ok<{ conversation: State }>(api, `query($id: ID!) { conversation(id: $id) { ${STATE} } }`, { id }, u)).conversation;
  const list = async (u: TestUser, vars: Record<string, unknown> = {}) => (await ok<ListResult>(api, LIST, vars, u)).conversations;
  const ids = async (u: TestUser, vars: Record<string, unknown> = {}) => (await list(u, vars)).edges.map((e) => e.node.id);
  const mutate = (name: string, u: TestUser, c: string) =>
    api.gql<Record<string, State>>(`mutation($c: ID!) { ${name}(conversationId: $c) { ${STATE} } }`, { c }, u.token);
  const inAnHour = (extraSeconds = 0) => new Date(Date.now() + 3_600_000 + extraSeconds * 1000).toISOString();

  /**
   * graphql-ws does not acknowledge a subscribe: the user mutes `conv` with a new time until
   * every one of their streams has an event, then each stream is read up to the last of those
   * events (one topic keeps its order), so what follows is new.
   */
  let probe = 0;
  const primed = async (queues: Array<Queued<{ data?: Updated }>>, u: TestUser, conv: string) => {
    let last = "";
    await until(async () => {
      last = inAnHour(++probe);
      await ok(api, MUTE, { c: conv, u: last }, u);
      return queues.every((q) => q.pending.length > 0);
    }, "the subscriptions to be registered");
    for (const q of queues) await nextWhere(q, (d) => d.conversationUpdated.id === conv && d.conversationUpdated.mutedUntil === last);
  };
  const nextWhere = async (q: Queued<{ data?: Updated }>, pick: (d: Updated) => boolean): Promise<Updated["conversationUpdated"]> => {
    for (;;) {
      const r = await q.next();
      if (r.data && pick(r.data)) return r.data.conversationUpdated;
    }
  };

  beforeAll(async () => {
    api = await startTestApi();
    [ann, ben, cat, dee, eve] = [
      await registerUser(api, "ann_s"),
      await registerUser(api, "ben_s"),
      await registerUser(api, "cat_s"),
      await registerUser(api, "dee_s"),
      await registerUser(api, "eve_s"),
    ];
    annBen = await sendDirect(api, ben, ann, "ben to ann");
    annCat = await sendDirect(api, cat, ann, "cat to ann");
    annDee = await sendDirect(api, dee, ann, "dee to ann");
    benCat = await sendDirect(api, cat, ben, "cat to ben");
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("mutes until a future time, unmutes with null or no time, and refuses a past time", async () => {
    const until = inAnHour();
    expect((await ok<{ muteConversation: State }>(api, MUTE, { c: annBen, u: until }, ann)).muteConversation).toMatchObject({ id: annBen, mutedUntil: until });
    // Only the viewer's state: the other member is not muted.
    expect((await state(ben, annBen)).mutedUntil).toBeNull();
    const past = await api.gql(MUTE, { c: annBen, u: new Date(Date.now() - 60_000).toISOString() }, ann.token);
    expect(code(past)).toBe("BAD_USER_INPUT");
    expect(fields(past)).toEqual(["until"]);
    expect((await state(ann, annBen)).mutedUntil).toBe(until);
    expect((await ok<{ muteConversation: State }>(api, MUTE, { c: annBen, u: null }, ann)).muteConversation.mutedUntil).toBeNull();
    await ok(api, MUTE, { c: annBen, u: until }, ann);
    expect(
      (await ok<{ muteConversation: State }>(api, `mutation($c: ID!) { muteConversation(conversationId: $c) { ${STATE} } }`, { c: annBen }, ann))
        .muteConversation.mutedUntil,
    ).toBeNull();
    // A mute that ran out reads as not muted, with nothing to clear it.
    await api.db.models.Conversation.updateOne(
      { _id: annBen },
      { $set: { "members.$[me].muted_until": new Date(Date.now() - 1000) } },
      { arrayFilters: [{ "me.user_id": new Types.ObjectId(ann.id) }], timestamps: false },
    );
    expect((await state(ann, annBen)).mutedUntil).toBeNull();
    await ok(api, MUTE, { c: annBen, u: null }, ann);
  });

  it("refuses outsiders (NOT_FOUND, as for unknown ids) and bad ids (BAD_USER_INPUT naming the field)", async () => {
    for (const name of ["archiveConversation", "unarchiveConversation", "pinConversation", "unpinConversation", "markConversationUnread"]) {
      expect(code(await mutate(name, eve, annBen)), name).toBe("NOT_FOUND");
      expect(code(await mutate(name, ann, new Types.ObjectId().toHexString())), name).toBe("NOT_FOUND");
      const bad = await mutate(name, ann, "not-an-id");
      expect(code(bad), name).toBe("BAD_USER_INPUT");
      expect(fields(bad), name).toEqual(["conversationId"]);
    }
    expect(code(await api.gql(MUTE, { c: annBen, u: inAnHour() }, eve.token))).toBe("NOT_FOUND");
    const stored = await api.db.models.Conversation.findById(annBen).lean();
    expect(stored!.members.every((m) => m.archived === undefined && m.pinned_at === undefined && m.marked_unread === undefined)).toBe(true);
  });

  it("lists pinned conversations first, then by activity, and pages with stable cursors", async () => {
    // Activity: annDee newest, then annCat, then annBen.
    expect(await ids(ann)).toEqual([annDee, annCat, annBen]);
    expect(
      (await ok<Record<string, State>>(api, `mutation($c: ID!) { pinConversation(conversationId: $c) { ${STATE} } }`, { c: annBen }, ann)).pinConversation
        .isPinned,
    ).toBe(true);
    expect(await ids(ann)).toEqual([annBen, annDee, annCat]);
    // Pinning again keeps the pin (and its place among the pins).
    expect((await mutate("pinConversation", ann, annBen)).data?.pinConversation.isPinned).toBe(true);
    // New activity in an unpinned conversation moves it up, but not above the pins.
    await sendDirect(api, cat, ann, "cat again");
    expect(await ids(ann)).toEqual([annBen, annCat, annDee]);
    // The other member's list is not affected by ann's pin.
    expect(await ids(ben)).toEqual([benCat, annBen]);
    // Pages of one: the same rows, once each, in the same order.
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const page: ListResult["conversations"] = await list(ann, { f: 1, a: after });
      seen.push(...page.edges.map((e) => e.node.id));
      after = page.pageInfo.endCursor;
      if (!page.pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual([annBen, annCat, annDee]);
    expect((await list(ann)).totalCount).toBe(3);
    expect(code(await api.gql(LIST, { a: "bm90IGEgY3Vyc29y" }, ann.token))).toBe("BAD_USER_INPUT");
    expect((await mutate("unpinConversation", ann, annBen)).data?.unpinConversation.isPinned).toBe(false);
    expect(await ids(ann)).toEqual([annCat, annDee, annBen]);
  });

  it("leaves archived conversations out of the list and lists them on request; archiving unpins, pinning unarchives", async () => {
    await ok(api, `mutation($c: ID!) { pinConversation(conversationId: $c) { id } }`, { c: annDee }, ann);
    const archived = (await mutate("archiveConversation", ann, annDee)).data?.archiveConversation;
    expect(archived).toMatchObject({ isArchived: true, isPinned: false });
    expect(await ids(ann)).toEqual([annCat, annBen]);
    const arch = await list(ann, { arch: true });
    expect(arch.edges.map((e) => e.node)).toEqual([expect.objectContaining({ id: annDee, isArchived: true })]);
    expect(arch.totalCount).toBe(1);
    // Still archived after new activity (until unarchived), and the other member sees it as usual.
    await sendDirect(api, dee, ann, "still there?");
    expect(await ids(ann)).toEqual([annCat, annBen]);
    expect((await state(dee, annDee)).isArchived).toBe(false);
    expect((await mutate("unarchiveConversation", ann, annDee)).data?.unarchiveConversation.isArchived).toBe(false);
    expect(await ids(ann)).toEqual([annDee, annCat, annBen]);
    await mutate("archiveConversation", ann, annBen);
    expect((await mutate("pinConversation", ann, annBen)).data?.pinConversation).toMatchObject({ isPinned: true, isArchived: false });
    expect(await ids(ann)).toEqual([annBen, annDee, annCat]);
    await mutate("unpinConversation", ann, annBen);
  });

  it("keeps 'marked unread' until the next markRead, even one that moves no watermark", async () => {
    const lastSeq = (await state(ann, annCat)).lastSeq;
    await ok(api, `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }`, { c: annCat, s: lastSeq }, ann);
    expect((await mutate("markConversationUnread", ann, annCat)).data?.markConversationUnread.isMarkedUnread).toBe(true);
    expect((await state(ann, annCat)).isMarkedUnread).toBe(true);
    expect((await state(cat, annCat)).isMarkedUnread).toBe(false);
    await ok(api, `mutation($c: ID!) { markDelivered(conversationId: $c, upToSeq: 1) { id } }`, { c: annCat }, ann);
    expect((await state(ann, annCat)).isMarkedUnread).toBe(true);
    const read = await ok<{ markRead: State }>(
      api,
      `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { ${STATE} } }`,
      { c: annCat, s: lastSeq },
      ann,
    );
    expect(read.markRead.isMarkedUnread).toBe(false);
    expect((await state(ann, annCat)).isMarkedUnread).toBe(false);
  });

  it("caps pinned conversations at 5 (BAD_USER_INPUT past it, nothing changed)", async () => {
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await registerUser(api, `pin_s${i}`));
    const convs = [annBen, annCat, annDee];
    for (const o of others) convs.push(await sendDirect(api, o, ann, "hi"));
    for (const c of convs.slice(0, 5)) expect((await mutate("pinConversation", ann, c)).errors).toBeUndefined();
    const sixth = await mutate("pinConversation", ann, convs[5]);
    expect(code(sixth)).toBe("BAD_USER_INPUT");
    expect(fields(sixth)).toEqual(["conversationId"]);
    expect((await state(ann, convs[5])).isPinned).toBe(false);
    expect((await list(ann, { f: 5 })).edges.every((e) => e.node.isPinned)).toBe(true);
    // Pinning a pinned one again is no new pin; after an unpin there is room.
    expect((await mutate("pinConversation", ann, convs[0])).errors).toBeUndefined();
    await mutate("unpinConversation", ann, convs[0]);
    expect((await mutate("pinConversation", ann, convs[5])).data?.pinConversation.isPinned).toBe(true);
    for (const c of convs) await mutate("unpinConversation", ann, c);
  });

  it("sends state changes to the member's own sessions only", async () => {
    const annA = (await ws(ann)).subscribe<Updated>(UPDATED);
    const annB = (await ws(ann)).subscribe<Updated>(UPDATED);
    const benQ = (await ws(ben)).subscribe<Updated>(UPDATED);
    await primed([annA, annB], ann, annBen);
    await primed([benQ], ben, benCat);
    await mutate("archiveConversation", ann, annBen);
    for (const q of [annA, annB]) expect(await nextWhere(q, () => true)).toMatchObject({ id: annBen, isArchived: true });
    await mutate("unarchiveConversation", ann, annBen);
    for (const q of [annA, annB]) expect(await nextWhere(q, () => true)).toMatchObject({ id: annBen, isArchived: false });
    // Ben's next event is his own change: ann's changes of a conversation they share never reached him.
    const mine = inAnHour(9_999);
    await ok(api, MUTE, { c: benCat, u: mine }, ben);
    expect(await nextWhere(benQ, () => true)).toMatchObject({ id: benCat, mutedUntil: mine });
    await ok(api, MUTE, { c: annBen, u: null }, ann);
    await ok(api, MUTE, { c: benCat, u: null }, ben);
  });

  it("pins messages in direct conversations (either member), shows the latest pin first and leaves deleted ones out", async () => {
    const m1 = (
      await ok<{ sendMessage: { id: string } }>(api, `mutation { sendMessage(input: { recipientId: "${ben.id}", content: "first pin" }) { id } }`, {}, ann)
    ).sendMessage.id;
    const m2 = (
      await ok<{ sendMessage: { id: string } }>(api, `mutation { sendMessage(input: { recipientId: "${ann.id}", content: "second pin" }) { id } }`, {}, ben)
    ).sendMessage.id;
    expect((await ok<{ pinMessage: { pinnedMessages: unknown[] } }>(api, PIN_MSG, { m: m1 }, ann)).pinMessage.pinnedMessages).toEqual([
      { id: m1, content: "first pin" },
    ]);
    const both = (await ok<{ pinMessage: { id: string; pinnedMessages: Array<{ id: string }> } }>(api, PIN_MSG, { m: m2 }, ben)).pinMessage;
    expect(both.id).toBe(annBen);
    expect(both.pinnedMessages.map((m) => m.id)).toEqual([m2, m1]);
    // Pinning again changes nothing; the list is the same for both members.
    expect(
      (await ok<{ pinMessage: { pinnedMessages: Array<{ id: string }> } }>(api, PIN_MSG, { m: m1 }, ben)).pinMessage.pinnedMessages.map((m) => m.id),
    ).toEqual([m2, m1]);
    const viaList = (
      await ok<{ conversation: { pinnedMessages: Array<{ id: string }> } }>(
        api,
        `query($id: ID!) { conversation(id: $id) { pinnedMessages { id } } }`,
        { id: annBen },
        ann,
      )
    ).conversation;
    expect(viaList.pinnedMessages.map((m) => m.id)).toEqual([m2, m1]);
    // Outsiders: NOT_FOUND for the message, as for an unknown one; bad ids name the field.
    expect(code(await api.gql(PIN_MSG, { m: m1 }, eve.token))).toBe("NOT_FOUND");
    expect(code(await api.gql(UNPIN_MSG, { m: m1 }, eve.token))).toBe("NOT_FOUND");
    expect(code(await api.gql(PIN_MSG, { m: new Types.ObjectId().toHexString() }, ann.token))).toBe("NOT_FOUND");
    expect(fields(await api.gql(PIN_MSG, { m: "nope" }, ann.token))).toEqual(["messageId"]);
    // A deleted message leaves the list, cannot be pinned again, and can still be unpinned.
    await ok(api, `mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: m2 }, ben);
    expect((await state(ann, annBen)).id).toBe(annBen);
    expect(
      (
        await ok<{ conversation: { pinnedMessages: Array<{ id: string }> } }>(
          api,
          `query($id: ID!) { conversation(id: $id) { pinnedMessages { id } } }`,
          { id: annBen },
          ann,
        )
      ).conversation.pinnedMessages.map((m) => m.id),
    ).toEqual([m1]);
    await ok(api, UNPIN_MSG, { m: m2 }, ann);
    expect(code(await api.gql(PIN_MSG, { m: m2 }, ann.token))).toBe("FORBIDDEN");
    expect((await ok<{ unpinMessage: { pinnedMessages: unknown[] } }>(api, UNPIN_MSG, { m: m1 }, ben)).unpinMessage.pinnedMessages).toEqual([]);
    expect((await api.db.models.Conversation.findById(annBen).lean())!.pinned_messages).toEqual([]);
  });

  it("refuses pins between blocked users in a direct conversation", async () => {
    const gil = await registerUser(api, "gil_s");
    const hal = await registerUser(api, "hal_s");
    const m = (
      await ok<{ sendMessage: { id: string } }>(api, `mutation { sendMessage(input: { recipientId: "${hal.id}", content: "pin me" }) { id } }`, {}, gil)
    ).sendMessage.id;
    await ok(api, PIN_MSG, { m }, hal);
    await ok(api, `mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: gil.id }, hal);
    expect(code(await api.gql(PIN_MSG, { m }, gil.token))).toBe("BLOCKED");
    expect(code(await api.gql(UNPIN_MSG, { m }, gil.token))).toBe("BLOCKED");
    expect(code(await api.gql(UNPIN_MSG, { m }, hal.token))).toBe("BLOCKED");
    expect((await api.db.models.Conversation.findOne({ "pinned_messages.message_id": new Types.ObjectId(m) }).lean())?.pinned_messages).toHaveLength(1);
  });

  it("lets only group admins pin, refuses removed members, and sends the new pins to members live", async () => {
    const group = await createGroup(api, ann, [cat, dee], "pins");
    await sendGroup(api, dee, group, "group hello");
    const msg = (await api.db.models.GroupMessage.findOne({ conversation_id: group, seq: 1 }).lean())!._id.toHexString();
    const catQ = (await ws(cat)).subscribe<Updated>(UPDATED);
    await primed([catQ], cat, group);
    expect(code(await api.gql(PIN_MSG, { m: msg }, dee.token))).toBe("FORBIDDEN");
    expect(code(await api.gql(PIN_MSG, { m: msg }, eve.token))).toBe("NOT_FOUND");
    expect((await ok<{ pinMessage: { pinnedMessages: unknown[] } }>(api, PIN_MSG, { m: msg }, ann)).pinMessage.pinnedMessages).toEqual([
      { id: msg, content: "group hello" },
    ]);
    expect(await nextWhere(catQ, (d) => d.conversationUpdated.id === group)).toMatchObject({ pinnedMessages: [{ content: "group hello" }] });
    expect(code(await api.gql(UNPIN_MSG, { m: msg }, dee.token))).toBe("FORBIDDEN");
    await ok(api, `mutation($u: ID!, $g: ID!) { removeGroupMember(userId: $u, groupId: $g) { id } }`, { u: dee.id, g: group }, ann);
    expect(code(await api.gql(PIN_MSG, { m: msg }, dee.token))).toBe("NOT_FOUND");
    expect(code(await mutate("pinConversation", dee, group))).toBe("NOT_FOUND");
    await ok(api, UNPIN_MSG, { m: msg }, ann);
    // (The removal's own update comes first, still with the pin.)
    expect(await nextWhere(catQ, (d) => d.conversationUpdated.pinnedMessages.length === 0)).toMatchObject({ id: group, isPinned: false });
  });

  it("caps pinned messages at 50 per conversation (BAD_USER_INPUT past it, nothing changed)", async () => {
    const sent = async (content: string) =>
      (
        await ok<{ sendMessage: { id: string } }>(
          api,
          `mutation($r: ID!, $c: String!) { sendMessage(input: { recipientId: $r, content: $c }) { id } }`,
          { r: cat.id, c: content },
          ben,
        )
      ).sendMessage.id;
    const first = await sent("pin 1");
    const extra = await sent("pin 51");
    // 49 pins of messages that no longer exist (loaded as nothing) plus one real one make 50.
    const filler = Array.from({ length: 49 }, () => ({ message_id: new Types.ObjectId(), pinned_by: new Types.ObjectId(ben.id), pinned_at: new Date() }));
    await api.db.models.Conversation.updateOne({ _id: benCat }, { $set: { pinned_messages: filler } }, { timestamps: false });
    expect(
      (await ok<{ pinMessage: { pinnedMessages: Array<{ id: string }> } }>(api, PIN_MSG, { m: first }, ben)).pinMessage.pinnedMessages.map((m) => m.id),
    ).toEqual([first]);
    const over = await api.gql(PIN_MSG, { m: extra }, cat.token);
    expect(code(over)).toBe("BAD_USER_INPUT");
    expect(fields(over)).toEqual(["messageId"]);
    expect((await api.db.models.Conversation.findById(benCat).lean())!.pinned_messages).toHaveLength(50);
    // Pinning an already pinned message at the cap is no new pin.
    expect((await api.gql(PIN_MSG, { m: first }, cat.token)).errors).toBeUndefined();
    await ok(api, UNPIN_MSG, { m: first }, cat);
    expect(
      (await ok<{ pinMessage: { pinnedMessages: Array<{ id: string }> } }>(api, PIN_MSG, { m: extra }, cat)).pinMessage.pinnedMessages.map((m) => m.id),
    ).toEqual([extra]);
  });
});
