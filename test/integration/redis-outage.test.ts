/**
 * Redis going away and coming back, through a TCP proxy the test controls: /readyz reports
 * not ready (503) while it is down, HTTP keeps working, each instance still delivers its own
 * events to its own clients, and live events across instances resume when it is back, with
 * the messages published during the outage filled in from the database (no gap).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { until } from "../helpers/wait.js";
import { listening, topic } from "../helpers/topics.js";

const hasRedis = await redisAvailable();

async function readyz(api: TestApi): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${api.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe.skipIf(!hasRedis)("Redis outage", () => {
  let proxy: TcpProxy;
  let a: TestApi;
  let b: TestApi;
  let client: TestWsClient | undefined;
  let local: TestWsClient | undefined;

  beforeAll(async () => {
    proxy = await startTcpProxy(REDIS_URL);
    ({ a, b } = await startTwoTestApis({ REDIS_URL: proxy.url }));
  });
  afterAll(async () => {
    proxy?.up();
    await client?.close();
    await local?.close();
    await stopTestApis(b, a);
    await proxy?.close();
  });

  it("reports Redis in /readyz (503 while down), keeps serving HTTP and local delivery, and resumes live events without a gap", async () => {
    // ioredis connects in the background after start-up.
    await until(async () => (await readyz(b)).body.redis === "up", "Redis connected");
    expect(await readyz(b)).toEqual({ status: 200, body: { status: "ready", database: "up", redis: "up" } });
    const ann = await registerUser(a, "ann_o");
    const bob = await registerUser(a, "bob_o");
    const send = async (content: string) => {
      const r = await a.gql<{ sendMessage: { seq: number; conversationId: string } }>(
        `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq conversationId } }`,
        { i: { recipientId: bob.id, content } },
        ann.token,
      );
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      return r.data!.sendMessage;
    };
    const conv = (await send("before")).conversationId;
    client = await connectWs(wsUrl(b.url), bob.token);
    const ADDED = `subscription($c: ID) { messageAdded(conversationId: $c) { seq content } }`;
    type Added = { messageAdded: { seq: number; content: string } };
    // Live (no replay): B listens, and has the channel subscribed in Redis, before the send on A.
    const onB = client;
    const sub = await listening(b, topic("CONVERSATION", conv), () => onB.subscribe<Added>(ADDED, { c: conv }));
    // Bob's second device, on the instance the sender uses.
    const onA = (local = await connectWs(wsUrl(a.url), bob.token));
    const localSub = await listening(a, topic("CONVERSATION", conv), () => onA.subscribe<Added>(ADDED, { c: conv }));
    await send("live");
    expect((await sub.next()).data?.messageAdded).toEqual({ seq: 2, content: "live" });
    expect((await localSub.next()).data?.messageAdded).toEqual({ seq: 2, content: "live" });

    proxy.down();
    await until(async () => (await readyz(b)).body.redis === "down", "readyz to report Redis down");
    const down = await readyz(b);
    expect(down).toEqual({ status: 503, body: { status: "redis unreachable", database: "up", redis: "down" } });
    // HTTP goes on: a message is stored while its live event cannot cross instances...
    expect((await send("during the outage")).seq).toBe(3);
    // ...and the instance that stored it delivers it to its own subscribers at once.
    expect((await localSub.next()).data?.messageAdded).toEqual({ seq: 3, content: "during the outage" });
    const me = await b.gql<{ me: { username: string } }>(`{ me { username } }`, {}, bob.token);
    expect(me.data?.me.username).toBe("bob_o");

    proxy.up();
    await until(async () => (await readyz(b)).body.redis === "up" && (await readyz(a)).body.redis === "up", "Redis back on both instances");
    await send("after");
    const got = [await sub.next(), await sub.next()].map((r) => r.data?.messageAdded);
    expect(got).toEqual([
      { seq: 3, content: "during the outage" },
      { seq: 4, content: "after" },
    ]);
    // The local subscriber gets the next one once, not its own echo from Redis again.
    expect((await localSub.next()).data?.messageAdded).toEqual({ seq: 4, content: "after" });
  }, 60_000);
});
