/**
 * Issue 15's catch-up, `changes(since)`, over real HTTP: the whole state for a null cursor,
 * then only what changed — new messages (with hasMore past the limit), edits, deletes,
 * reactions, hides, pins, receipts, member state, membership, group changes, contacts and
 * blocks — and nothing for an unchanged cursor. Rights: nothing of conversations the viewer
 * is not (or no longer) in. Cursors work on another instance and after a restart; bad input is
 * refused with a code; the commands of a call do not grow with history.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, startTwoTestApis, stopTestApis, type GqlResult, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { befriend, createGroup, ok, sendDirect, sendGroup } from "../helpers/social.js";
import { CHANGES, applyChanges, fetchChanges, normalise, truthFor, type Changes } from "../helpers/changes.js";
import { connectWs, wsUrl } from "../helpers/ws.js";

const codeOf = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;
const fieldsOf = (r: GqlResult<unknown>) => (r.errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);

const SEND = `mutation($r: ID!, $c: String!) { sendMessage(input: { recipientId: $r, content: $c }) { id seq conversationId } }`;
type Sent = { sendMessage: { id: string; seq: number; conversationId: string } };

describe("changes(since)", () => {
  let api: TestApi;
  let amy: TestUser, bo: TestUser, cy: TestUser, dee: TestUser;

  beforeAll(async () => {
    api = await startTestApi();
    [amy, bo, cy, dee] = await Promise.all(["amy_s", "bo_s", "cy_s", "dee_s"].map((n) => registerUser(api, n)));
  });
  afterAll(async () => {
    await api?.stop();
  });

  const send = async (from: TestUser, to: TestUser, content: string) => (await ok<Sent>(api, SEND, { r: to.id, c: content }, from)).sendMessage;
  const conv = (ch: Changes, id: string) => ch.conversations.find((c) => c.conversation.id === id);

  it("gives the whole state for a null cursor, then only what changed, and nothing for an unchanged cursor", async () => {
    const first = await send(bo, amy, "hello amy");
    await send(amy, bo, "hi bo");
    const full = await fetchChanges(api, amy, null);
    expect(full.full).toBe(true);
    const direct = conv(full, first.conversationId)!;
    expect(direct.messages.map((m) => m.content)).toEqual(["hello amy", "hi bo"]);
    expect(direct.hasMore).toBe(false);
    expect(direct.receipts).toEqual([{ user: { id: bo.id }, deliveredSeq: 1, readSeq: 1 }]);
    expect(normalise(applyChanges(null, full))).toEqual(normalise(await truthFor(api, amy)));

    const same = await fetchChanges(api, amy, full.cursor);
    expect(same).toMatchObject({ full: false, conversations: [], removedConversationIds: [], contacts: null, contactRequests: null });

    const third = await send(bo, amy, "third");
    const delta = await fetchChanges(api, amy, same.cursor);
    expect(delta.conversations).toHaveLength(1);
    expect(delta.conversations[0].messages.map((m) => m.id)).toEqual([third.id]);
    expect(delta.conversations[0].conversation).toMatchObject({ lastSeq: 3, unreadCount: 1, lastMessage: { id: third.id } });
  });

  it("brings edits, deletes (with the replies quoting them), reactions, pins, hides, receipts and member state of older messages", async () => {
    const a = await send(cy, amy, "to be edited");
    const b = await send(cy, amy, "to be deleted");
    const reply = (
      await ok<{ sendMessage: { id: string } }>(
        api,
        `mutation($r: ID!, $q: ID!) { sendMessage(input: { recipientId: $r, content: "quoting", replyToId: $q }) { id } }`,
        { r: amy.id, q: b.id },
        cy,
      )
    ).sendMessage;
    const c = await send(amy, cy, "to be hidden");
    let state = applyChanges(null, await fetchChanges(api, amy, null));
    const cursor = state.cursor;

    await ok(api, `mutation($m: ID!) { editMessage(id: $m, content: "edited") { id } }`, { m: a.id }, cy);
    await ok(api, `mutation($m: ID!) { deleteMessage(id: $m) { id } }`, { m: b.id }, cy);
    await ok(api, `mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }`, { m: a.id }, cy);
    await ok(api, `mutation($m: ID!) { pinMessage(messageId: $m) { id } }`, { m: a.id }, cy);
    await ok(api, `mutation($m: ID!) { hideMessage(messageId: $m) }`, { m: c.id }, amy);
    await ok(api, `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }`, { c: a.conversationId, s: 4 }, cy);
    await ok(api, `mutation($c: ID!) { archiveConversation(conversationId: $c) { id } }`, { c: a.conversationId }, amy);

    const delta = await fetchChanges(api, amy, cursor);
    const changed = conv(delta, a.conversationId)!;
    expect(changed.messages.map((m) => m.id).sort()).toEqual([a.id, b.id, reply.id].sort());
    expect(changed.messages.find((m) => m.id === a.id)).toMatchObject({
      content: "edited",
      editHistory: [{ content: "to be edited" }],
      reactions: [{ emoji: "👍", count: 1 }],
    });
    expect(changed.messages.find((m) => m.id === b.id)).toMatchObject({ isDeleted: true, content: null });
    expect(changed.messages.find((m) => m.id === reply.id)).toMatchObject({ replyTo: { id: b.id, isDeleted: true } });
    expect(changed.hiddenMessageIds).toEqual([c.id]);
    expect(changed.conversation).toMatchObject({ isArchived: true, pinnedMessages: [{ id: a.id }] });
    expect(changed.receipts).toEqual([{ user: { id: cy.id }, deliveredSeq: 4, readSeq: 4 }]);
    state = applyChanges(state, delta);
    expect(normalise(state)).toEqual(normalise(await truthFor(api, amy)));
  });

  it("answers the same over graphql-ws as over HTTP", async () => {
    const overHttp = await fetchChanges(api, amy, null);
    const socket = await connectWs(wsUrl(api.url), amy.token);
    try {
      const result = await socket.subscribe<{ changes: Changes }>(CHANGES, { s: null, l: 100 }).next();
      expect(result.errors).toBeUndefined();
      expect(normalise(applyChanges(null, result.data!.changes))).toEqual(normalise(applyChanges(null, overHttp)));
      const bad = await socket.subscribe(CHANGES, { s: "garbage!", l: 100 }).next();
      expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    } finally {
      await socket.close();
    }
  });

  it("marks hasMore past limitPerConversation and sends the newest messages", async () => {
    const start = await fetchChanges(api, dee, null, 3);
    let conversationId = "";
    for (let i = 1; i <= 5; i++) conversationId = (await send(bo, dee, `m${i}`)).conversationId;
    const delta = await fetchChanges(api, dee, start.cursor, 3);
    expect(conv(delta, conversationId)).toMatchObject({ hasMore: true });
    expect(conv(delta, conversationId)!.messages.map((m) => m.content)).toEqual(["m3", "m4", "m5"]);
    const full = await fetchChanges(api, dee, null, 3);
    expect(conv(full, conversationId)).toMatchObject({ hasMore: true });
  });

  it("shows a new group to a member, group changes to all, and drops the conversation of a removed member (nothing of it after)", async () => {
    const before = await fetchChanges(api, dee, null);
    const groupId = await createGroup(api, bo, [dee, cy], "sync group");
    await sendGroup(api, bo, groupId, "welcome");
    const joined = await fetchChanges(api, dee, before.cursor);
    expect(conv(joined, groupId)?.conversation).toMatchObject({ group: { name: "sync group" }, lastSeq: 1 });
    expect(conv(joined, groupId)?.messages.map((m) => m.content)).toEqual(["welcome"]);

    await ok(api, `mutation($g: ID!) { updateGroup(id: $g, input: { name: "renamed" }) { id } }`, { g: groupId }, bo);
    const renamed = await fetchChanges(api, dee, joined.cursor);
    expect(conv(renamed, groupId)?.conversation).toMatchObject({ group: { name: "renamed" } });

    await ok(api, `mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g: groupId, u: dee.id }, bo);
    await sendGroup(api, bo, groupId, "after dee left");
    const removed = await fetchChanges(api, dee, renamed.cursor);
    expect(removed.removedConversationIds).toEqual([groupId]);
    expect(conv(removed, groupId)).toBeUndefined();
    // A stranger's cursor naming the group gets nothing of it either.
    const stranger = await fetchChanges(api, amy, removed.cursor);
    expect(conv(stranger, groupId)).toBeUndefined();
    expect(JSON.stringify(stranger)).not.toContain("after dee left");
  });

  it("sends the contact lists whole when a contact, request or block changed, else null", async () => {
    const start = await fetchChanges(api, cy, null);
    await ok(api, `mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: cy.id }, dee);
    const requested = await fetchChanges(api, cy, start.cursor);
    expect(requested.contactRequests).toEqual([{ from: { id: dee.id } }]);
    await ok(api, `mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: dee.id }, cy);
    const blocked = await fetchChanges(api, cy, requested.cursor);
    expect(blocked.contacts).toContainEqual({ user: { id: dee.id }, status: "BLOCKED", isFavorite: false, notes: null });
    expect(blocked.contactRequests).toEqual([]);
    const unchanged = await fetchChanges(api, cy, blocked.cursor);
    expect(unchanged.contacts).toBeNull();
    // The other side's lists changed too (their request is gone).
    const deeSide = await fetchChanges(api, dee, start.cursor);
    expect(deeSide.contacts).not.toBeNull();
  });

  it("refuses a cursor that is not one and a limit out of range with BAD_USER_INPUT", async () => {
    for (const since of ["not a cursor", "AAAA", Buffer.from([1, 5, 200]).toString("base64url")]) {
      const res = await api.gql(CHANGES, { s: since, l: 10 }, amy.token);
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      expect(fieldsOf(res)).toEqual(["since"]);
    }
    for (const l of [0, 201]) expect(codeOf(await api.gql(CHANGES, { s: null, l }, amy.token))).toBe("BAD_USER_INPUT");
    expect(codeOf(await api.gql(CHANGES, { s: null, l: 10 }))).toBe("UNAUTHENTICATED");
  });

  it("runs a constant number of database commands whatever the length of history", async () => {
    const [p, q] = await Promise.all(["p_s", "q_s"].map((n) => registerUser(api, n)));
    await befriend(api, p, q);
    const measure = async (historyLength: number) => {
      for (let i = 0; i < historyLength; i++) await sendDirect(api, q, p, `old ${i}`);
      const cursor = (await fetchChanges(api, p, null)).cursor;
      const m = await send(q, p, "new");
      await ok(api, `mutation($m: ID!) { editMessage(id: $m, content: "new!") { id } }`, { m: m.id }, q);
      let ch: Changes | null = null;
      const counted = await countCommands(api, async () => (ch = await fetchChanges(api, p, cursor, 50)));
      expect(ch!.conversations).toHaveLength(1);
      return counted;
    };
    const small = await measure(3);
    const big = await measure(150);
    expect(big.names).toEqual(small.names);
    expect(small.count).toBeLessThanOrEqual(12);
  });
});

describe("changes(since) across instances and restarts", () => {
  let a: TestApi | undefined, b: TestApi | undefined;
  afterAll(async () => {
    await stopTestApis(b, a);
  });

  it("takes a cursor from one instance on another, and after that instance restarted", async () => {
    ({ a, b } = await startTwoTestApis());
    const [eli, fay] = await Promise.all([registerUser(a, "eli_s"), registerUser(a, "fay_s")]);
    await ok<Sent>(a, SEND, { r: fay.id, c: "one" }, eli);
    const onA = await fetchChanges(a, fay, null);
    await ok<Sent>(b, SEND, { r: fay.id, c: "two" }, eli);
    const onB = await fetchChanges(b, fay, onA.cursor);
    expect(onB.conversations[0].messages.map((m) => m.content)).toEqual(["two"]);
    await b.stop();
    b = await startTestApi({}, { shared: { mongo: a.mongo } });
    await ok<Sent>(a, SEND, { r: fay.id, c: "three" }, eli);
    const afterRestart = await fetchChanges(b, fay, onB.cursor);
    expect(afterRestart.conversations[0].messages.map((m) => m.content)).toEqual(["three"]);
  });
});
