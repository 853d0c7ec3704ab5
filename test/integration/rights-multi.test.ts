/**
 * Rights across instances, through Redis: a login revoked on instance A closes its socket on
 * instance B with 4401; a member removed on A stops receiving the group on B.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { createGroup, ok, sendDirect, sendGroup } from "../helpers/social.js";
import { listening, topic } from "../helpers/topics.js";
import { withTimeout } from "../helpers/wait.js";

const hasRedis = await redisAvailable();

type Result = { data?: Record<string, any>; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

describe.skipIf(!hasRedis)("rights across instances", () => {
  let a: TestApi;
  let b: TestApi;
  const sockets: TestWsClient[] = [];

  beforeAll(async () => {
    ({ a, b } = await startTwoTestApis({ REDIS_URL }));
  });
  afterAll(async () => {
    for (const c of sockets) await c.close().catch(() => undefined);
    await stopTestApis(b, a);
  });

  it("closes with 4401, on instance B, the socket of a login revoked on instance A", async () => {
    const ida = await registerUser(a, "m_ida");
    const other = (await a.gql<{ login: { accessToken: string } }>(`mutation { login(input: { login: "m_ida", password: "password-123" }) { accessToken } }`))
      .data!.login.accessToken;
    // B follows the account's logins once the socket is accepted (and Redis carries A's events to it).
    const onB = await listening(b, topic("ACCOUNT", ida.id), () => connectWs(wsUrl(b.url), other));
    sockets.push(onB);
    // That login ends on A (logout exists on the old code too: only the close is new).
    await ok(a, `mutation { logout }`, {}, other);
    const closed = await withTimeout(onB.closed, "not closed");
    expect(closed).toMatchObject({ code: 4401 });
    expect((await ok<{ sessions: Array<{ current: boolean }> }>(a, `query { sessions { current } }`, {}, ida)).sessions).toEqual([{ current: true }]);
  }, 30_000);

  it("stops delivering a group on instance B to a member removed on instance A", async () => {
    const [adm, mem, friend] = await Promise.all(["m_adm", "m_mem", "m_friend"].map((n) => registerUser(a, n)));
    const g = await createGroup(a, adm, [mem, friend]);
    const onB = await connectWs(wsUrl(b.url), mem.token);
    sockets.push(onB);
    const [perConv, all] = await listening(b, [topic("CONVERSATION", g), topic("CONVERSATION", g)], () => [
      onB.subscribe(`subscription($c: ID) { messageAdded(conversationId: $c) { content } }`, { c: g }) as { next(): Promise<Result> },
      onB.subscribe(`subscription { messageAdded { content } }`) as { next(): Promise<Result> },
    ]);
    await sendGroup(a, adm, g, "still in");
    expect((await perConv.next()).data?.messageAdded).toEqual({ content: "still in" });
    expect((await all.next()).data?.messageAdded).toEqual({ content: "still in" });

    await ok(a, `mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g, u: mem.id }, adm);
    expect((await perConv.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await sendGroup(a, adm, g, "after removal");
    await sendDirect(a, friend, mem, "direct after");
    expect((await all.next()).data?.messageAdded).toEqual({ content: "direct after" });
  }, 30_000);
});
