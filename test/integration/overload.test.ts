/**
 * Overload degrades, never loses (README "Reliability"), each part with a tiny configured
 * limit so it happens for certain: a request past the in-flight cap gets 503 + Retry-After
 * after a short wait in line; waiters are admitted oldest retry first; a request whose client left is not executed; a consumer too slow to read its socket is
 * closed with 1013 and resumes with afterSeq; a socket that does not answer pings is
 * terminated.
 */
import net from "node:net";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { wsUrl } from "../helpers/ws.js";
import type { ReliabilityAction } from "../../src/http/metrics.js";
import { clockPast, until } from "../helpers/wait.js";

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq conversationId } }`;

const count = (api: TestApi, action: ReliabilityAction) => api.server.metrics.reliabilityCount(action);

/** A raw HTTP/1.1 POST to /graphql: the test decides when (and whether) the body is finished. */
function rawPost(api: TestApi, body: string, token: string, sendBytes = Buffer.byteLength(body)): Promise<net.Socket> {
  const { port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n` +
          body.slice(0, sendBytes),
      );
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

/** A graphql-transport-ws connection by hand, so the test can stop reading it or its pongs. */
async function rawWs(api: TestApi, token: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(wsUrl(api.url), "graphql-transport-ws", options);
  const frames: Array<{ id?: string; type: string; payload?: { data?: { messageAdded?: { seq: number } } } }> = [];
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("message", (m) => frames.push(JSON.parse(m.toString())));
  ws.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    ws.on("message", (m) => (JSON.parse(m.toString()).type === "connection_ack" ? resolve() : undefined));
    ws.on("error", reject);
  });
  return {
    ws,
    frames,
    closed,
    subscribe(id: string, conversationId: string, afterSeq?: number) {
      ws.send(
        JSON.stringify({
          id,
          type: "subscribe",
          payload: {
            query: `subscription($c: ID!, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { seq content } }`,
            variables: { c: conversationId, a: afterSeq ?? null },
          },
        }),
      );
    },
    seqs(id: string): number[] {
      return frames.filter((f) => f.id === id && f.type === "next").map((f) => f.payload!.data!.messageAdded!.seq);
    },
  };
}

describe("admission control", () => {
  let api: TestApi;
  let ann: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    api = await startTestApi({ MAX_IN_FLIGHT_REQUESTS: "1", SHED_RETRY_AFTER_SECONDS: "2", MAX_REQUEST_DELAY_MS: "0" });
    ann = await registerUser(api, "ann_shed");
    bob = await registerUser(api, "bob_shed");
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("answers 503 with Retry-After and a retry ticket past the in-flight cap (after its wait in line), and serves again when the slot is free", async () => {
    const body = JSON.stringify({ query: SEND, variables: { i: { recipientId: bob.id, content: "held", clientMessageId: "held-1" } } });
    // A request whose body never finishes holds the only slot.
    const holder = await rawPost(api, body, ann.token, 10);
    let shed: Response | null = null;
    await until(async () => {
      const res = await fetch(`${api.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      if (res.status === 503) shed = res;
      else await res.text();
      return shed !== null;
    }, "a request to be shed");
    const res = shed as unknown as Response;
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toEqual({
      errors: [
        { message: expect.any(String), extensions: { code: "SERVICE_UNAVAILABLE", reason: "in_flight", retryTicket: res.headers.get("x-retry-ticket") } },
      ],
    });
    expect(await count(api, "shed_in_flight")).toBeGreaterThanOrEqual(1);

    // The holder gives up mid-body: its slot comes back, it counts as a client gone, nothing ran.
    holder.destroy();
    await until(async () => {
      const r = await fetch(`${api.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      await r.text();
      return r.status === 200;
    }, "the slot to be released");
    await until(async () => (await count(api, "client_gone")) >= 1, "the abandoned request to be counted");
    expect(await api.db.connection.collection("messages").countDocuments({ client_message_id: "held-1" })).toBe(0);
  });

  it("does not execute a request whose client closed its connection before it ran", async () => {
    const before = await count(api, "client_gone");
    const gone = JSON.stringify({ query: SEND, variables: { i: { recipientId: bob.id, content: "gone", clientMessageId: "gone-1" } } });
    // The whole request, then the client's FIN at once: the server learns it while checking the session.
    const socket = await rawPost(api, gone, ann.token);
    socket.end();
    await until(async () => (await count(api, "client_gone")) > before, "the request to be dropped");
    expect(await api.db.connection.collection("messages").countDocuments({ client_message_id: "gone-1" })).toBe(0);

    // The same request from a client that waits is executed (the check can fail).
    const kept = await api.gql<{ sendMessage: { seq: number } }>(SEND, { i: { recipientId: bob.id, content: "kept", clientMessageId: "kept-1" } }, ann.token);
    expect(kept.errors).toBeUndefined();
    expect(await api.db.connection.collection("messages").countDocuments({ client_message_id: "kept-1" })).toBe(1);
  });
});

describe("fair admission", () => {
  let api: TestApi;
  let ann: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    // One slot, a line of two, and a wait the test ends itself: the order is all that is observed.
    api = await startTestApi({
      MAX_IN_FLIGHT_REQUESTS: "1",
      ADMISSION_QUEUE_SIZE: "2",
      ADMISSION_QUEUE_MS: "60000",
      MAX_REQUEST_DELAY_MS: "0",
      MAX_EVENT_LOOP_DELAY_MS: "0",
    });
    ann = await registerUser(api, "ann_fair");
    bob = await registerUser(api, "bob_fair");
  });
  afterAll(async () => {
    await api?.stop();
  });

  const load = () => api.server.admission.load;
  const sendBody = (cmid: string) => JSON.stringify({ query: SEND, variables: { i: { recipientId: bob.id, content: cmid, clientMessageId: cmid } } });
  function send(cmid: string, token: string, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    return fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...extra },
      body: sendBody(cmid),
      signal,
    });
  }
  const stored = (cmid: string) => api.db.connection.collection("messages").findOne({ client_message_id: cmid });

  it("admits an older retry before newer waiting sends, refuses the youngest when the line is full, and ignores forged tickets", async () => {
    // Warm the conversation, so every send below is a plain append with the next seq.
    expect((await api.gql(SEND, { i: { recipientId: bob.id, content: "first" } }, ann.token)).errors).toBeUndefined();
    // The only slot is held by a request whose body never finishes.
    const holder = await rawPost(api, sendBody("fair-held"), ann.token, 10);
    await until(() => load().inFlight === 1, "the holder to be admitted");

    // Two sends fill the line; a third, the youngest, is refused at once with its retry ticket.
    const gone = [new AbortController(), new AbortController()];
    const waiting = gone.map((c, i) => send(`fair-w${i}`, ann.token, {}, c.signal).catch(() => null));
    await until(() => load().waiting === 2, "two waiters");
    const first = await send("fair-old", ann.token);
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBe("1");
    const ticket = first.headers.get("x-retry-ticket")!;
    expect(ticket).toMatch(/^\d+\.[\w-]{22}$/);
    expect(((await first.json()) as { errors: Array<{ extensions: Record<string, unknown> }> }).errors[0].extensions).toEqual({
      code: "SERVICE_UNAVAILABLE",
      reason: "in_flight",
      retryTicket: ticket,
    });

    // The waiters' clients give up: they leave the line and are never executed.
    for (const c of gone) c.abort();
    await Promise.all(waiting);
    await until(() => load().waiting === 0, "the waiters to leave");
    // The clock moves past the ticket's millisecond, so the sends below are strictly newer.
    await clockPast(Number(ticket.split(".")[0]));

    // Two newer sends wait in line, in arrival order.
    const n1 = send("fair-n1", ann.token);
    await until(() => load().waiting === 1, "n1 waiting");
    const n2 = send("fair-n2", ann.token);
    await until(() => load().waiting === 2, "n2 waiting");

    // A forged ticket, and a real one presented by another user, buy nothing: refused as the youngest.
    const forged = await send("fair-forged", ann.token, { "x-retry-ticket": `${Number(ticket.split(".")[0]) - 60_000}.AAAAAAAAAAAAAAAAAAAAAA` });
    expect(forged.status).toBe(503);
    await forged.text();
    const borrowed = await send("fair-borrowed", bob.token, { "x-retry-ticket": ticket });
    expect(borrowed.status).toBe(503);
    await borrowed.text();
    expect(load().waiting).toBe(2);

    // The refused send's retry, with its ticket, is older than both: it takes the youngest's place.
    const retry = send("fair-old", ann.token, { "x-retry-ticket": ticket });
    const displaced = await n2;
    expect(displaced.status).toBe(503);
    await displaced.text();
    expect(load().waiting).toBe(2);
    expect(await count(api, "admission_displaced")).toBe(1);
    expect(await count(api, "admission_retry_ticket")).toBe(1);

    // The slot comes free: the retry runs before n1, which waited longer at this instance.
    holder.destroy();
    const [r, r1] = await Promise.all([retry, n1]);
    expect(r.status).toBe(200);
    expect(r1.status).toBe(200);
    const old = (await r.json()) as { data: { sendMessage: { seq: number } } };
    const newer = (await r1.json()) as { data: { sendMessage: { seq: number } } };
    expect(old.data.sendMessage.seq).toBe(2);
    expect(newer.data.sendMessage.seq).toBe(3);
    for (const cmid of ["fair-held", "fair-w0", "fair-w1", "fair-n2", "fair-forged", "fair-borrowed"]) expect(await stored(cmid), cmid).toBeNull();
  });
});

describe("standing queue", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ MAX_REQUEST_DELAY_MS: "100" });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("sheds new requests while requests in flight have waited longer than MAX_REQUEST_DELAY_MS and none was answered", async () => {
    const ann = await registerUser(api, "ann_queue");
    // Two requests that never finish: the oldest waits, and another waits behind it.
    const holders = [
      await rawPost(api, JSON.stringify({ query: "{ __typename }" }), ann.token, 5),
      await rawPost(api, JSON.stringify({ query: "{ __typename }" }), ann.token, 5),
    ];
    let shed: Record<string, unknown> | null = null;
    // Each admitted probe is answered fast, which clears the signal of the window it lands in
    // (admission.ts measures 500 ms windows): probes are spaced wider than a window so one
    // window can go by without an answer. The interval paces the probes; it waits for nothing.
    await until(
      async () => {
        const res = await fetch(`${api.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ __typename }" }),
        });
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status === 503) shed = body;
        return shed !== null;
      },
      "a request to be shed",
      { intervalMs: 600, tries: 60 },
    );
    expect(shed).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: "SERVICE_UNAVAILABLE", reason: "queue", retryTicket: expect.any(String) } }],
    });
    expect(await count(api, "shed_queue")).toBeGreaterThanOrEqual(1);
    for (const h of holders) h.destroy();
  });
});

describe("slow consumers", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ WS_MAX_BUFFERED_BYTES: "65536", WS_SLOW_CONSUMER_MS: "0" });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("closes a socket whose client stopped reading with 1013; it resumes with afterSeq and misses nothing", async () => {
    const ann = await registerUser(api, "ann_slow");
    const bob = await registerUser(api, "bob_slow");
    const first = await api.gql<{ sendMessage: { conversationId: string } }>(SEND, { i: { recipientId: bob.id, content: "hi" } }, ann.token);
    const conv = first.data!.sendMessage.conversationId;
    const slow = await rawWs(api, bob.token);
    // 20 subscriptions to the same conversation: every message is written to the socket 20 times.
    for (let i = 0; i < 20; i++) slow.subscribe(`s${i}`, conv);
    // Every subscription is live once each has seen a first message.
    await api.gql(SEND, { i: { recipientId: bob.id, content: "warm" } }, ann.token);
    await until(() => Array.from({ length: 20 }, (_, i) => slow.seqs(`s${i}`)).every((s) => s[0] === 2), "the subscriptions to start");
    (slow.ws as unknown as { _socket: net.Socket })._socket.pause();
    const big = "x".repeat(10_000);
    let sent = 2;
    await until(
      async () => {
        const r = await api.gql(SEND, { i: { recipientId: bob.id, content: big } }, ann.token);
        expect(r.errors).toBeUndefined();
        sent += 1;
        return (await count(api, "ws_slow_consumer")) >= 1;
      },
      "the slow consumer to be closed",
      400,
    );
    (slow.ws as unknown as { _socket: net.Socket })._socket.resume();
    expect(await slow.closed).toBe(1013);

    // Resuming after the last seq it got, the client receives the rest, in order, once.
    const got = slow.seqs("s0");
    const last = got.at(-1) ?? 1;
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 2));
    const again = await rawWs(api, bob.token);
    again.subscribe("r", conv, last);
    await until(() => again.seqs("r").length === sent - last, "the replay");
    expect(again.seqs("r")).toEqual(Array.from({ length: sent - last }, (_, i) => last + 1 + i));
    again.ws.close();
  });
});

describe("dead peers", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ WS_PING_INTERVAL_MS: "200" });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("terminates a socket that does not answer pings and keeps one that does", async () => {
    const ann = await registerUser(api, "ann_ping");
    const alive = await rawWs(api, ann.token);
    const dead = await rawWs(api, ann.token, { autoPong: false });
    expect(await dead.closed).toBe(1006);
    expect(await count(api, "ws_dead_peer")).toBeGreaterThanOrEqual(1);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
  });
});
