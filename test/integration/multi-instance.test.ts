/** Two API instances on one database and the real Redis: an event sent on A arrives on B. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl, type TestWsClient } from "../helpers/ws.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { listening, topic } from "../helpers/topics.js";

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)("multi-instance delivery through Redis", () => {
  let a: TestApi;
  let b: TestApi;
  let client: TestWsClient | undefined;

  beforeAll(async () => {
    ({ a, b } = await startTwoTestApis({ REDIS_URL }));
  });
  afterAll(async () => {
    await client?.close();
    await stopTestApis(b, a);
  });

  it("delivers a message sent on instance A to a subscriber on instance B", async () => {
    const pia = await registerUser(a, "pia");
    const quinn = await registerUser(a, "quinn_r");
    // The same account works on both instances (one database).
    const first = await b.gql<{ sendMessage: { conversationId: string } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { conversationId } }`,
      { i: { recipientId: quinn.id, content: "via B" } },
      pia.token,
    );
    const conv = first.data!.sendMessage.conversationId;
    const onB = (client = await connectWs(wsUrl(b.url), quinn.token));
    // Live only (no afterSeq): a replay from the shared database would pass without Redis.
    // graphql-ws does not acknowledge a subscribe: wait until B listens (and is subscribed in Redis).
    const sub = await listening(b, topic("CONVERSATION", conv), () =>
      onB.subscribe<{ messageAdded: { seq: number; content: string; sender: { username: string } } }>(
        `subscription($c: ID) { messageAdded(conversationId: $c) { seq content sender { username } } }`,
        { c: conv },
      ),
    );
    await a.gql(`mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`, { i: { recipientId: quinn.id, content: "via A" } }, pia.token);
    expect((await sub.next()).data?.messageAdded).toEqual({ seq: 2, content: "via A", sender: { username: "pia" } });
  });

  it("rings a callee connected to instance B for a call started on A, and relays signals between them", async () => {
    const rex = await registerUser(a, "rex");
    const sia = await registerUser(a, "sia");
    const onB = await connectWs(wsUrl(b.url), sia.token);
    const onA = await connectWs(wsUrl(a.url), rex.token);
    try {
      const calls = await listening(b, topic("USER", sia.id), () =>
        onB.subscribe<{ callUpdated: { id: string; status: string; caller: { username: string } } }>(
          `subscription { callUpdated { id status caller { username } } }`,
        ),
      );
      const started = await a.gql<{ startCall: { id: string } }>(
        `mutation { startCall(input: { recipientId: "${sia.id}", callType: VIDEO }) { id } }`,
        {},
        rex.token,
      );
      const callId = started.data!.startCall.id;
      expect((await calls.next()).data?.callUpdated).toEqual({ id: callId, status: "INITIATED", caller: { username: "rex" } });
      const signals = await listening(a, topic("CALL_SIGNAL", `${callId}:${rex.id}`), () =>
        onA.subscribe<{ callSignal: { from: { username: string }; signal: unknown } }>(
          `subscription($c: ID!) { callSignal(callId: $c) { from { username } signal } }`,
          { c: callId },
        ),
      );
      const sent = await b.gql(
        `mutation($c: ID!, $t: ID!) { sendCallSignal(callId: $c, toUserId: $t, signal: { type: "answer", sdp: "v=0" }) }`,
        { c: callId, t: rex.id },
        sia.token,
      );
      expect(sent.errors, JSON.stringify(sent.errors)).toBeUndefined();
      expect((await signals.next()).data?.callSignal).toEqual({ from: { username: "sia" }, signal: { type: "answer", sdp: "v=0" } });
    } finally {
      await onA.close();
      await onB.close();
    }
  });
});
