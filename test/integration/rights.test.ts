/**
 * Rights follow open streams: a member who is removed, leaves, or whose group is deactivated
 * receives nothing more of it on streams opened before (one-conversation streams end with
 * FORBIDDEN, all-conversations streams drop it); a re-added member's replay starts at their
 * return; a block hides the blocker's typing and receipts live and refuses typing and call
 * signals between the two. Logins: the `sessions` list, revoking, the absolute lifetime, and
 * every end of a login closing its sockets with 4401; an expiring token closes its socket;
 * a user's sockets beyond MAX_CONNECTIONS_PER_USER close oldest first with 4429.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { createGroup, ok, sendDirect, sendGroup } from "../helpers/social.js";
import { listening, topic } from "../helpers/topics.js";
import { withTimeout } from "../helpers/wait.js";

type Result = { data?: Record<string, any>; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

/** The close a socket received, failing (instead of hanging) when none comes. */
function closeOf(ws: TestWsClient): Promise<{ code: number; reason: string }> {
  return withTimeout(ws.closed, "the socket was not closed");
}

describe("rights follow open streams", () => {
  let api: TestApi;
  const sockets: TestWsClient[] = [];
  const ws = async (token: string): Promise<TestWsClient> => {
    const c = await connectWs(wsUrl(api.url), token);
    sockets.push(c);
    return c;
  };

  beforeAll(async () => {
    // A long access token and a short hard end make the cap by the login's end observable.
    api = await startTestApi({ MAX_CONNECTIONS_PER_USER: "3", SESSION_MAX_AGE_SECONDS: "3600", ACCESS_TOKEN_TTL_SECONDS: "86400" });
  });
  afterAll(async () => {
    for (const c of sockets) await c.close().catch(() => undefined);
    await api?.stop();
  });

  it("ends a removed member's streams of the group, drops it from their other streams, and replays only from their return", async () => {
    const [adm, mem, leaver, third] = await Promise.all(["r_adm", "r_mem", "r_leaver", "r_third"].map((n) => registerUser(api, n)));
    const g = await createGroup(api, adm, [mem, leaver, third]);
    await sendGroup(api, adm, g, "before");
    const c = await ws(mem.token);
    const onGroup = topic("CONVERSATION", g);
    // graphql-ws acknowledges no subscribe: all three are live once the server listens on the group three times.
    const [perConv, typing, all] = await listening(api, [onGroup, onGroup, onGroup], () => [
      c.subscribe(`subscription($c: ID) { messageAdded(conversationId: $c) { content } }`, { c: g }) as { next(): Promise<Result> },
      c.subscribe(`subscription($c: ID!) { typing(conversationId: $c) { isTyping } }`, { c: g }) as { next(): Promise<Result> },
      c.subscribe(`subscription { messageAdded { content } }`) as { next(): Promise<Result> },
    ]);

    await ok(api, `mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g, u: mem.id }, adm);
    expect((await perConv.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await typing.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await sendGroup(api, adm, g, "while out");
    await ok(api, `mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: g }, adm);
    // The next thing the all-conversations stream carries is a later direct message, not the group's.
    await sendDirect(api, third, mem, "direct after");
    expect((await all.next()).data?.messageAdded).toEqual({ content: "direct after" });

    // Back in: live again on the stream opened before, and a replay from 0 starts at the return.
    // The all-conversations stream takes the group back when its membership event comes: it listens again.
    await listening(api, onGroup, () => ok(api, `mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, { g, u: [mem.id] }, adm));
    const replay = await listening(
      api,
      onGroup,
      () =>
        c.subscribe(`subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { content } }`, { c: g, a: 0 }) as {
          next(): Promise<Result>;
        },
    );
    await sendGroup(api, adm, g, "back");
    expect((await replay.next()).data?.messageAdded).toEqual({ content: "back" });
    expect((await all.next()).data?.messageAdded).toEqual({ content: "back" });

    // Leaving ends the leaver's streams; deactivation ends everybody's.
    const l = await ws(leaver.token);
    const t = await ws(third.token);
    const [receipts, updates] = await listening(api, [onGroup, onGroup], () => [
      l.subscribe(`subscription($c: ID) { receiptUpdated(conversationId: $c) { readSeq } }`, { c: g }) as { next(): Promise<Result> },
      t.subscribe(`subscription($c: ID) { messageUpdated(conversationId: $c) { content } }`, { c: g }) as { next(): Promise<Result> },
    ]);
    await ok(api, `mutation($g: ID!) { leaveGroup(groupId: $g) }`, { g }, leaver);
    expect((await receipts.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await ok(api, `mutation($g: ID!) { deactivateGroup(id: $g) { id } }`, { g }, adm);
    expect((await updates.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await replay.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  }, 60_000);

  it("hides a blocker's typing and receipts from the blocked user's open streams, and refuses typing and call signals between them", async () => {
    const [ann, bob, cat, dan] = await Promise.all(["b_ann", "b_bob", "b_cat", "b_dan"].map((n) => registerUser(api, n)));
    const g = await createGroup(api, ann, [bob, cat, dan]);
    const direct = await sendDirect(api, ann, bob, "hi");
    await sendGroup(api, ann, g, "g1");
    await sendGroup(api, cat, g, "g2");
    const call = await ok<{ startCall: { id: string } }>(
      api,
      `mutation($r: ID!) { startCall(input: { recipientId: $r, callType: VOICE }) { id } }`,
      { r: bob.id },
      ann,
    );
    const c = await ws(bob.token);
    const [typing, receipts] = await listening(api, [topic("CONVERSATION", g), topic("CONVERSATION", g)], () => [
      c.subscribe(`subscription($c: ID!) { typing(conversationId: $c) { user { username } } }`, { c: g }) as { next(): Promise<Result> },
      c.subscribe(`subscription($c: ID) { receiptUpdated(conversationId: $c) { user { username } } }`, { c: g }) as { next(): Promise<Result> },
    ]);

    await ok(api, `mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: bob.id }, ann);
    await ok(api, `mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: g }, ann);
    await ok(api, `mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: g }, cat);
    expect((await typing.next()).data?.typing).toEqual({ user: { username: "b_cat" } });
    await ok(api, `mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 2) { id } }`, { c: g }, ann);
    await ok(api, `mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 2) { id } }`, { c: g }, dan);
    expect((await receipts.next()).data?.receiptUpdated).toEqual({ user: { username: "b_dan" } });

    for (const who of [bob, ann]) {
      const typed = await api.gql(`mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: direct }, who.token);
      expect(typed.errors?.[0]?.extensions?.code).toBe("BLOCKED");
    }
    const signal = await api.gql(
      `mutation($c: ID!, $t: ID!) { sendCallSignal(callId: $c, toUserId: $t, signal: { type: "offer" }) }`,
      { c: call.startCall.id, t: bob.id },
      ann.token,
    );
    expect(signal.errors?.[0]?.extensions?.code).toBe("BLOCKED");

    // Unblocking brings the live view back on the same streams.
    await ok(api, `mutation($u: ID!) { unblockUser(userId: $u) }`, { u: bob.id }, ann);
    await ok(api, `mutation($c: ID!) { setTyping(conversationId: $c, isTyping: false) }`, { c: g }, ann);
    expect((await typing.next()).data?.typing).toEqual({ user: { username: "b_ann" } });
  }, 60_000);
});

describe("sessions", () => {
  let api: TestApi;
  const sockets: TestWsClient[] = [];
  const ws = async (token: string): Promise<TestWsClient> => {
    const c = await connectWs(wsUrl(api.url), token);
    sockets.push(c);
    return c;
  };

  beforeAll(async () => {
    api = await startTestApi({ MAX_CONNECTIONS_PER_USER: "3", SESSION_MAX_AGE_SECONDS: "3600", ACCESS_TOKEN_TTL_SECONDS: "86400" });
  });
  afterAll(async () => {
    for (const c of sockets) await c.close().catch(() => undefined);
    await api?.stop();
  });

  interface Login {
    accessToken: string;
    accessTokenExpiresAt: string;
    refreshToken: string;
  }
  async function login(username: string, device?: Record<string, string>, userAgent = "rights-test/1.0"): Promise<Login> {
    const res = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": userAgent },
      body: JSON.stringify({
        query: `mutation($i: LoginInput!) { login(input: $i) { accessToken accessTokenExpiresAt refreshToken } }`,
        variables: { i: { login: username, password: "password-123", ...(device ? { device } : {}) } },
      }),
    });
    const body = (await res.json()) as { data?: { login: Login }; errors?: unknown };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!.login;
  }

  it("lists the viewer's logins with device, address and times, revokes one or the others, and caps a login's life", async () => {
    await registerUser(api, "s_sam");
    const phone = await login("s_sam", { deviceType: "phone", platform: "ios", appVersion: "1.2" }, "LetsApp-iOS/1.2");
    const laptop = await login("s_sam");
    // No access token outlives the login's hard end (SESSION_MAX_AGE_SECONDS=3600 < the 24 h TTL).
    expect(new Date(laptop.accessTokenExpiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);

    const q = `query { sessions { id deviceType platform appVersion userAgent ip createdAt lastUsedAt expiresAt current } }`;
    const listed = (await ok<{ sessions: Array<Record<string, any>> }>(api, q, {}, laptop.accessToken)).sessions;
    expect(listed).toHaveLength(3);
    const phoneRow = listed.find((s) => s.deviceType === "phone")!;
    expect(phoneRow).toMatchObject({
      platform: "ios",
      appVersion: "1.2",
      userAgent: "LetsApp-iOS/1.2",
      ip: expect.stringContaining("127.0.0.1"),
      current: false,
    });
    expect(new Date(phoneRow.expiresAt).getTime() - new Date(phoneRow.createdAt).getTime()).toBe(3600_000);
    expect(listed.filter((s) => s.current)).toHaveLength(1);

    const phoneSocket = await ws(phone.accessToken);
    await ok(api, `mutation($id: ID!) { revokeSession(id: $id) }`, { id: phoneRow.id }, laptop.accessToken);
    expect(await closeOf(phoneSocket)).toMatchObject({ code: 4401 });
    expect(
      (await api.gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: phone.refreshToken })).errors?.[0]?.extensions?.code,
    ).toBe("INVALID_TOKEN");
    // Someone else's session, or an ended one, is not found.
    expect((await api.gql(`mutation($id: ID!) { revokeSession(id: $id) }`, { id: phoneRow.id }, laptop.accessToken)).errors?.[0]?.extensions?.code).toBe(
      "NOT_FOUND",
    );

    expect((await ok<{ revokeOtherSessions: number }>(api, `mutation { revokeOtherSessions }`, {}, laptop.accessToken)).revokeOtherSessions).toBe(1);
    const left = (await ok<{ sessions: Array<{ current: boolean }> }>(api, `query { sessions { current } }`, {}, laptop.accessToken)).sessions;
    expect(left).toEqual([{ current: true }]);
    // A refresh keeps the login's hard end.
    const refreshed = await ok<{ refreshToken: Login }>(
      api,
      `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken accessTokenExpiresAt refreshToken } }`,
      { t: laptop.refreshToken },
      laptop.accessToken,
    );
    const after = (await ok<{ sessions: Array<{ expiresAt: string }> }>(api, `query { sessions { expiresAt } }`, {}, refreshed.refreshToken.accessToken))
      .sessions;
    expect(after[0].expiresAt).toBe(listed.find((s) => s.current)!.expiresAt);
  }, 60_000);

  it("closes the sockets of every login that ends with 4401: password change, logout, refresh reuse, deactivation", async () => {
    await registerUser(api, "s_pat");
    const [one, two] = [await login("s_pat"), await login("s_pat")];
    const [s1, s2] = [await ws(one.accessToken), await ws(two.accessToken)];
    await ok(api, `mutation { changePassword(currentPassword: "password-123", newPassword: "password-456") }`, {}, one.accessToken);
    expect(await closeOf(s2)).toMatchObject({ code: 4401 });
    await ok(api, `mutation { logout }`, {}, one.accessToken);
    expect(await closeOf(s1)).toMatchObject({ code: 4401 });

    const res = await api.gql<{ login: Login }>(`mutation { login(input: { login: "s_pat", password: "password-456" }) { accessToken refreshToken } }`);
    const three = res.data!.login;
    const s3 = await ws(three.accessToken);
    await ok(api, `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: three.refreshToken }, three.accessToken);
    // The rotated token presented again: the whole login ends.
    await api.gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: three.refreshToken });
    expect(await closeOf(s3)).toMatchObject({ code: 4401 });

    const four = (await api.gql<{ login: Login }>(`mutation { login(input: { login: "s_pat", password: "password-456" }) { accessToken } }`)).data!.login;
    const s4 = await ws(four.accessToken);
    await ok(api, `mutation { deactivateAccount(password: "password-456") }`, {}, four.accessToken);
    expect(await closeOf(s4)).toMatchObject({ code: 4401 });
  }, 60_000);

  it("closes a socket with 4401 when its access token expires", async () => {
    const kim = await registerUser(api, "s_kim");
    const claims = (await api.server.services.tokens.verifyAccess(kim.token))!;
    // A token of the same login that expires in about a second.
    const short = await api.server.services.tokens.issueAccess({ userId: claims.userId, sessionId: claims.sessionId }, new Date(Date.now() + 1500));
    const c = await ws(short.token);
    expect(await closeOf(c)).toEqual({ code: 4401, reason: "Token expired" });
  }, 30_000);

  it("closes the oldest of a user's sockets with 4429 beyond MAX_CONNECTIONS_PER_USER", async () => {
    const lee = await registerUser(api, "s_lee");
    const first = await ws(lee.token);
    for (let i = 0; i < 3; i++) await ws(lee.token);
    expect(await closeOf(first)).toMatchObject({ code: 4429 });
  }, 30_000);
});
