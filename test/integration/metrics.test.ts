/**
 * GET /metrics after real traffic: HTTP requests by operation and outcome, GraphQL errors by
 * code, WebSockets, subscriptions, events published and delivered with their latency, database
 * command latency, rate-limit refusals and process metrics all moved. METRICS_TOKEN guards it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl } from "../helpers/ws.js";
import { createGroup, ok } from "../helpers/social.js";
import { listening, topic } from "../helpers/topics.js";
import { nextMatching, waitFor } from "../helpers/wait.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";

const hasRedis = await redisAvailable();

/** The event kinds a subscription can deliver, each with the subscription field that receives it. */
const LIVE_KINDS = ["message.added", "message.updated", "receipt", "typing", "conversation.updated", "presence", "call.updated", "call.signal"];

/**
 * Live traffic of every kind: users registered and acting on `sender`, their subscriptions on
 * `receiver` (the same instance, or another one behind Redis). Returns when each result arrived.
 */
async function liveTrafficOfEveryKind(sender: TestApi, receiver: TestApi, tag: string): Promise<void> {
  const kim = await registerUser(sender, `kim_${tag}`);
  const lou = await registerUser(sender, `lou_${tag}`);
  const groupId = await createGroup(sender, kim, [lou], `g_${tag}`); // contacts too (presence, calls)
  const conv = (
    await ok<{ sendMessage: { conversationId: string } }>(
      sender,
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { conversationId } }`,
      { i: { recipientId: lou.id, content: "first" } },
      kim,
    )
  ).sendMessage.conversationId;
  const ws = await connectWs(wsUrl(receiver.url), lou.token);
  // graphql-ws acknowledges no subscribe: all are live once the receiver listens on their topics
  // (the five all-conversations streams on both conversations, typing on the direct one, presence on kim's).
  const allStreams = 5;
  const topics = [
    ...Array(allStreams + 1).fill(topic("CONVERSATION", conv)),
    ...Array(allStreams).fill(topic("CONVERSATION", groupId)),
    topic("PRESENCE", kim.id),
  ];
  const { added, updated, receipts, typing, conversations, presence, calls } = await listening(receiver, topics, () => ({
    added: ws.subscribe(`subscription { messageAdded { content } }`),
    updated: ws.subscribe(`subscription { messageUpdated { content } }`),
    receipts: ws.subscribe(`subscription { receiptUpdated { readSeq } }`),
    typing: ws.subscribe(`subscription($c: ID!) { typing(conversationId: $c) { isTyping } }`, { c: conv }),
    conversations: ws.subscribe<{ conversationUpdated?: { id: string } }>(`subscription { conversationUpdated { id } }`),
    presence: ws.subscribe(`subscription($u: [ID!]) { presenceChanged(userIds: $u) { status } }`, { u: [kim.id] }),
    calls: ws.subscribe(`subscription { callUpdated { id } }`),
  }));

  const sent = await ok<{ sendMessage: { id: string; seq: number } }>(
    sender,
    `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }`,
    { i: { recipientId: lou.id, content: "hello" } },
    kim,
  );
  expect(await added.next()).toEqual({ data: { messageAdded: { content: "hello" } } });
  expect((await conversations.next()).data).toEqual({ conversationUpdated: { id: conv } }); // a message.added event
  await ok(sender, `mutation($id: ID!) { editMessage(id: $id, content: "hello!") { id } }`, { id: sent.sendMessage.id }, kim);
  expect(await updated.next()).toEqual({ data: { messageUpdated: { content: "hello!" } } });
  // kim reads a message of lou's: lou hears the receipt.
  const reply = await ok<{ sendMessage: { seq: number } }>(
    sender,
    `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`,
    { i: { recipientId: kim.id, content: "hi" } },
    lou,
  );
  await ok(sender, `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }`, { c: conv, s: reply.sendMessage.seq }, kim);
  expect(await receipts.next()).toEqual({ data: { receiptUpdated: { readSeq: reply.sendMessage.seq } } });
  await ok(sender, `mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: conv }, kim);
  expect(await typing.next()).toEqual({ data: { typing: { isTyping: true } } });
  await ok(sender, `mutation($g: ID!) { updateGroup(id: $g, input: { name: "renamed" }) { id } }`, { g: groupId }, kim);
  await nextMatching(conversations, (r) => r.data?.conversationUpdated?.id === groupId); // conversation.updated
  await ok(sender, `mutation { setPresence(input: { status: BUSY }) { status } }`, {}, kim);
  expect(await presence.next()).toEqual({ data: { presenceChanged: { status: "BUSY" } } });
  const call = await ok<{ startCall: { id: string } }>(
    sender,
    `mutation($u: ID!) { startCall(input: { recipientId: $u, callType: VOICE }) { id } }`,
    { u: lou.id },
    kim,
  );
  expect((await calls.next()).data).toEqual({ callUpdated: { id: call.startCall.id } });
  const signals = await listening(receiver, topic("CALL_SIGNAL", `${call.startCall.id}:${lou.id}`), () =>
    ws.subscribe(`subscription($c: ID!) { callSignal(callId: $c) { callId } }`, { c: call.startCall.id }),
  );
  await ok(
    sender,
    `mutation($c: ID!, $u: ID!) { sendCallSignal(callId: $c, toUserId: $u, signal: { sdp: "offer" }) }`,
    { c: call.startCall.id, u: lou.id },
    kim,
  );
  expect(await signals.next()).toEqual({ data: { callSignal: { callId: call.startCall.id } } });
  await ws.close();
}

/** The value of one sample line (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

describe("metrics", () => {
  let api: TestApi;
  let guarded: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    guarded = await startTestApi({ METRICS_TOKEN: "a-metrics-token-0123456789" });
  });
  afterAll(async () => {
    await api?.stop();
    await guarded?.stop();
  });

  it("counts HTTP, GraphQL, WebSocket, event and database activity", async () => {
    const scrape = async () => (await fetch(`${api.url}/metrics`)).text();
    const kim = await registerUser(api, "kim");
    const lou = await registerUser(api, "lou");
    const ws = await connectWs(wsUrl(api.url), lou.token);
    const sub = await listening(api, topic("USER", lou.id), () =>
      ws.subscribe<{ messageAdded: { content: string } }>("subscription Inbox { messageAdded { content } }"),
    );
    const during = await scrape();
    expect(sample(during, "letsapp_websockets_open")).toBe(1);
    expect(sample(during, "letsapp_subscriptions_active", { field: "messageAdded" })).toBe(1);

    await api.gql(`mutation Send($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`, { i: { recipientId: lou.id, content: "hello" } }, kim.token);
    expect((await sub.next()).data?.messageAdded.content).toBe("hello");
    await api.gql(`query Broken { me { id } }`); // UNAUTHENTICATED
    for (let i = 0; i < 12; i++)
      await api.gql(`mutation Login($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { login: "kim", password: "wrong-password" } });
    sub.stop();
    await ws.close();

    // Lines are written when responses finish; one more round trip orders them before the scrape.
    await fetch(`${api.url}/healthz`);
    const text = await scrape();
    expect(sample(text, "letsapp_http_requests_total", { route: "graphql", operation: "Send", outcome: "success" })).toBe(1);
    expect(sample(text, "letsapp_http_requests_total", { route: "graphql", operation: "Broken", outcome: "graphql_error" })).toBe(1);
    expect(sample(text, "letsapp_http_request_duration_seconds_count", { route: "graphql", operation: "Send" })).toBe(1);
    expect(sample(text, "letsapp_graphql_errors_total", { code: "UNAUTHENTICATED", transport: "http" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "letsapp_graphql_errors_total", { code: "RATE_LIMITED", transport: "http" })).toBeGreaterThan(0);
    expect(sample(text, "letsapp_rate_limit_refusals_total", { transport: "http" })).toBeGreaterThan(0);
    expect(sample(text, "letsapp_events_published_total", { topic: "CONVERSATION" })).toBeGreaterThan(0);
    expect(sample(text, "letsapp_events_delivered_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "letsapp_event_delivery_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, "letsapp_db_command_duration_seconds_count", { command: "insert", outcome: "ok" }),
      text
        .split("\n")
        .filter((l) => l.includes("db_command"))
        .slice(0, 8)
        .join("\n"),
    ).toBeGreaterThan(0);
    expect(sample(text, "letsapp_process_process_resident_memory_bytes")).toBeGreaterThan(0);
    // The server sees the socket close a moment after the client: wait for the gauges to follow.
    const after = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, "letsapp_websockets_open") === 0 && t;
      },
      "the open sockets gauge to fall to 0",
      { intervalMs: 50 },
    );
    expect(sample(after, "letsapp_subscriptions_active", { field: "messageAdded" })).toBe(0);
  });

  it("measures publish → socket latency for every kind of live event, and counts deliveries by kind", async () => {
    const before = await (await fetch(`${api.url}/metrics`)).text();
    await liveTrafficOfEveryKind(api, api, "local");
    const text = await (await fetch(`${api.url}/metrics`)).text();
    for (const kind of LIVE_KINDS) {
      const observed = sample(text, "letsapp_event_delivery_seconds_count", { kind }) - sample(before, "letsapp_event_delivery_seconds_count", { kind });
      expect(observed, kind).toBeGreaterThanOrEqual(1);
      // Every delivered live event has its latency measured: nothing of that kind is missed.
      expect(sample(text, "letsapp_events_delivered_total", { kind }), kind).toBe(sample(text, "letsapp_event_delivery_seconds_count", { kind }));
      expect(sample(text, "letsapp_event_delivery_seconds_bucket", { kind, le: "+Inf" }), kind).toBe(
        sample(text, "letsapp_event_delivery_seconds_count", { kind }),
      );
    }
  });

  it.skipIf(!hasRedis)(
    "measures it from the publishing instance's time when the event crosses Redis",
    async () => {
      const a = await startTestApi({ REDIS_URL });
      const b = await startTestApi({ REDIS_URL }, { shared: { mongo: a.mongo } });
      try {
        await liveTrafficOfEveryKind(a, b, "redis");
        const text = await (await fetch(`${b.url}/metrics`)).text();
        for (const kind of LIVE_KINDS) {
          expect(sample(text, "letsapp_event_delivery_seconds_count", { kind }), kind).toBeGreaterThanOrEqual(1);
          expect(sample(text, "letsapp_events_delivered_total", { kind }), kind).toBe(sample(text, "letsapp_event_delivery_seconds_count", { kind }));
        }
        // b published none of them: the stamps came with the events.
        expect(sample(text, "letsapp_events_published_total", { topic: "CONVERSATION" })).toBe(0);
      } finally {
        await b.stop();
        await a.stop();
      }
    },
    60_000,
  );

  it("keeps one registry per server: another instance's traffic is not in it", async () => {
    const text = await (await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer a-metrics-token-0123456789" } })).text();
    expect(sample(text, "letsapp_http_requests_total", { operation: "Send" })).toBe(0);
  });

  it("serves no /metrics with METRICS_ENABLED=false", async () => {
    const off = await startTestApi({ METRICS_ENABLED: "false" });
    try {
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${off.url}/healthz`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });

  it("requires METRICS_TOKEN when it is set", async () => {
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer a-metrics-token-0123456789" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/text\/plain/);
  });
});
