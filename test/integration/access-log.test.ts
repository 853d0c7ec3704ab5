/**
 * Access logs as an operator reads them: the server's own pino logger writes to a stream this
 * test reads. One line per HTTP request (request id taken from `x-request-id` or generated, and
 * echoed back; method, path, status, duration, operation name, viewer id), one per WebSocket
 * connection when it closes and one per WebSocket operation when it ends; an internal error is
 * logged with its stack exactly once, over HTTP and over WebSocket.
 */
import { Types } from "mongoose";
import { pino } from "pino";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { wsUrl } from "../helpers/ws.js";
import { listening, topic } from "../helpers/topics.js";
import { until, waitFor } from "../helpers/wait.js";

type Line = Record<string, unknown> & { msg: string; level: number };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("access logs", () => {
  let api: TestApi;
  let ann: TestUser;
  const lines: Line[] = [];

  beforeAll(async () => {
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    api = await startTestApi({}, { log });
    ann = await registerUser(api, "ann_log");
  });
  afterAll(async () => {
    await api?.stop();
  });

  /** Lines are written when a response or socket has finished: wait for the one wanted. */
  async function lineWhere(match: (l: Line) => boolean, what: string): Promise<Line> {
    return waitFor(() => lines.find(match), `a log line for ${what}`, { intervalMs: 25, tries: 200 }).catch((e: Error) => {
      throw new Error(`${e.message}; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
    });
  }

  async function post(query: string, headers: Record<string, string> = {}, token?: string): Promise<Response> {
    return fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify({ query }),
    });
  }

  it("writes one line per HTTP request with the client's request id, echoed back", async () => {
    const res = await post(`query WhoAmI { me { username } }`, { "x-request-id": "client-req-0001" }, ann.token);
    expect(res.headers.get("x-request-id")).toBe("client-req-0001");
    expect(await res.json()).toEqual({ data: { me: { username: "ann_log" } } });
    const line = await lineWhere((l) => l.requestId === "client-req-0001", "the request");
    expect(line).toMatchObject({ level: 30, msg: "http request", method: "POST", path: "/graphql", status: 200, operation: "WhoAmI", viewerId: ann.id });
    expect(typeof line.durationMs).toBe("number");
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(line.graphqlErrors).toBeUndefined();
    // Nothing else is logged for it: exactly one line per request.
    await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "client-req-0002" } });
    await lineWhere((l) => l.requestId === "client-req-0002", "the next request");
    expect(lines.filter((l) => l.requestId === "client-req-0001")).toHaveLength(1);
  });

  it("generates a request id when the client sends none, or one that is not sane", async () => {
    const none = await post(`query Anonymous { __typename }`);
    const generated = none.headers.get("x-request-id")!;
    expect(generated).toMatch(UUID);
    expect(await lineWhere((l) => l.requestId === generated, "a generated id")).toMatchObject({ operation: "Anonymous", viewerId: null, status: 200 });

    const insane = await post(`{ __typename }`, { "x-request-id": "has spaces and <script>" });
    const replaced = insane.headers.get("x-request-id")!;
    expect(replaced).toMatch(UUID);
    expect(await lineWhere((l) => l.requestId === replaced, "a replaced id")).toMatchObject({ operation: "anonymous", status: 200 });
    expect(lines.some((l) => JSON.stringify(l).includes("<script>"))).toBe(false);
  });

  it("logs the status and outcome of failed requests: GraphQL errors, parse errors, unknown routes", async () => {
    await post(`query NeedsLogin { me { id } }`, { "x-request-id": "unauth-1" });
    expect(await lineWhere((l) => l.requestId === "unauth-1", "UNAUTHENTICATED")).toMatchObject({
      status: 200,
      operation: "NeedsLogin",
      graphqlErrors: true,
      viewerId: null,
    });
    await post(`query Broken {`, { "x-request-id": "parse-1" });
    expect(await lineWhere((l) => l.requestId === "parse-1", "a parse error")).toMatchObject({ status: 400, graphqlErrors: true });
    await fetch(`${api.url}/nowhere`, { headers: { "x-request-id": "route-1" } });
    expect(await lineWhere((l) => l.requestId === "route-1", "a 404")).toMatchObject({ status: 404, path: "/nowhere", operation: "-" });
  });

  it("writes one line per WebSocket operation when it ends and one per connection when it closes", async () => {
    const ws = new WebSocket(wsUrl(api.url), "graphql-transport-ws", { headers: { "x-request-id": "socket-req-1" } });
    const messages: Array<{ type: string; id?: string }> = [];
    ws.on("message", (m) => messages.push(JSON.parse(m.toString()) as { type: string; id?: string }));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${ann.token}` } }));
    const received = (pred: (m: { type: string; id?: string }) => boolean, what: string) =>
      until(() => messages.some(pred), what, { intervalMs: 25, tries: 200 });
    await received((m) => m.type === "connection_ack", "connection_ack");
    ws.send(JSON.stringify({ type: "subscribe", id: "q1", payload: { query: "query SocketMe { me { username } }" } }));
    await received((m) => m.type === "complete" && m.id === "q1", "the query's complete");
    // Completed once it runs (graphql-ws acknowledges no subscribe): the server then listens on ann's user topic.
    await listening(api, topic("USER", ann.id), () =>
      ws.send(JSON.stringify({ type: "subscribe", id: "s1", payload: { query: "subscription Inbox { messageAdded { content } }" } })),
    );
    ws.send(JSON.stringify({ type: "complete", id: "s1" }));

    const query = await lineWhere((l) => l.requestId === "socket-req-1/q1", "the query's end");
    expect(query).toMatchObject({ msg: "websocket operation ended", ws: "operation", operation: "SocketMe", viewerId: ann.id });
    expect(typeof query.durationMs).toBe("number");
    const sub = await lineWhere((l) => l.requestId === "socket-req-1/s1", "the subscription's end");
    expect(sub).toMatchObject({ ws: "operation", operation: "Inbox", field: "messageAdded", viewerId: ann.id });

    ws.close(1000, "bye");
    const closed = await lineWhere((l) => l.requestId === "socket-req-1", "the connection's close");
    expect(closed).toMatchObject({ msg: "websocket closed", ws: "connection", viewerId: ann.id, code: 1000, reason: "bye" });
    expect(typeof closed.durationMs).toBe("number");
    expect(lines.filter((l) => typeof l.requestId === "string" && (l.requestId as string).startsWith("socket-req-1"))).toHaveLength(3);
  });

  it("logs an internal error with its stack exactly once, over HTTP and over WebSocket", async () => {
    // A stored user without its username (damaged data): `me.username` cannot be answered.
    const users = api.db.connection.collection("users");
    await users.updateOne({ _id: new Types.ObjectId(ann.id) }, { $unset: { username: "" } });
    try {
      const res = await post(`query Damaged { me { username } }`, { "x-request-id": "internal-1" }, ann.token);
      const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors[0].extensions.code).toBe("INTERNAL_SERVER_ERROR");
      const access = await lineWhere((l) => l.requestId === "internal-1" && l.msg === "http request", "the request");
      expect(access).toMatchObject({ status: 200, operation: "Damaged", graphqlErrors: true });
      const errors = lines.filter((l) => l.requestId === "internal-1" && l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ msg: "internal error in a GraphQL operation", operation: "Damaged" });
      expect((errors[0].err as { stack?: string }).stack).toMatch(/\n\s+at /);

      const ws = new WebSocket(wsUrl(api.url), "graphql-transport-ws", { headers: { "x-request-id": "internal-ws" } });
      // graphql-ws: subscribe only after the server acknowledged the connection.
      const done = new Promise<void>((resolve, reject) => {
        ws.on("message", (m) => {
          const type = (JSON.parse(m.toString()) as { type: string }).type;
          if (type === "connection_ack") ws.send(JSON.stringify({ type: "subscribe", id: "d1", payload: { query: "query DamagedWs { me { username } }" } }));
          if (type === "complete") resolve();
        });
        ws.on("close", (code) => reject(new Error(`socket closed with ${code}`)));
      });
      ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${ann.token}` } })));
      await done;
      await lineWhere((l) => l.requestId === "internal-ws/d1" && l.msg === "websocket operation ended", "the operation's end");
      ws.close();
      await lineWhere((l) => l.requestId === "internal-ws" && l.msg === "websocket closed", "the socket's close");
      const wsErrors = lines.filter((l) => l.level === 50 && typeof l.requestId === "string" && (l.requestId as string).startsWith("internal-ws"));
      expect(wsErrors).toHaveLength(1);
      expect(wsErrors[0]).toMatchObject({ msg: "internal error in a WebSocket operation", requestId: "internal-ws/d1" });
      expect((wsErrors[0].err as { stack?: string }).stack).toMatch(/\n\s+at /);
    } finally {
      await users.updateOne({ _id: new Types.ObjectId(ann.id) }, { $set: { username: "ann_log" } });
    }
  });
});
