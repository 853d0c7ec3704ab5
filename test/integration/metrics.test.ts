/**
 * GET /metrics after real traffic: HTTP requests by operation and outcome, GraphQL errors by
 * code, WebSockets, subscriptions, events published and delivered with their latency, database
 * command latency, rate-limit refusals and process metrics all moved. METRICS_TOKEN guards it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { connectWs, wsUrl } from "../helpers/ws.js";

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
    const sub = ws.subscribe<{ messageAdded: { content: string } }>("subscription Inbox { messageAdded { content } }");
    await new Promise<void>((resolve) => setTimeout(resolve, 200));
    const during = await scrape();
    expect(sample(during, "letsapp_websockets_open")).toBe(1);
    expect(sample(during, "letsapp_subscriptions_active", { field: "messageAdded" })).toBe(1);

    await api.gql(`mutation Send($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`, { i: { recipientId: lou.id, content: "hello" } }, kim.token);
    expect((await sub.next()).data?.messageAdded.content).toBe("hello");
    await api.gql(`query Broken { me { id } }`); // UNAUTHENTICATED
    for (let i = 0; i < 12; i++) await api.gql(`mutation Login($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { login: "kim", password: "wrong-password" } });
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
    expect(sample(text, "letsapp_db_command_duration_seconds_count", { command: "insert", outcome: "ok" }), text.split("\n").filter((l) => l.includes("db_command")).slice(0, 8).join("\n")).toBeGreaterThan(0);
    expect(sample(text, "letsapp_process_process_resident_memory_bytes")).toBeGreaterThan(0);
    // The server sees the socket close a moment after the client: wait for the gauges to follow.
    let after = text;
    for (let i = 0; i < 100 && sample(after, "letsapp_websockets_open") !== 0; i++) after = await new Promise((r) => setTimeout(r, 50)).then(scrape);
    expect(sample(after, "letsapp_websockets_open")).toBe(0);
    expect(sample(after, "letsapp_subscriptions_active", { field: "messageAdded" })).toBe(0);
  });

  it("keeps one registry per server: another instance's traffic is not in it", async () => {
    const text = await (await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer a-metrics-token-0123456789" } })).text();
    expect(sample(text, "letsapp_http_requests_total", { operation: "Send" })).toBe(0);
  });

  it("requires METRICS_TOKEN when it is set", async () => {
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: "Bearer a-metrics-token-0123456789" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/text\/plain/);
  });
});
