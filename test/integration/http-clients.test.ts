/**
 * The API as browsers and client libraries call it, over real HTTP: CORS, GET queries with
 * urql's and Apollo Client's default headers, status codes, request ids, the SDL route, the
 * graphql-ws `Authorization` spelling, and the GraphQL-over-HTTP audit (graphql-http).
 */
import { auditServer } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { wsUrl } from "../helpers/ws.js";
import { listening, topic } from "../helpers/topics.js";

/** What urql (fetchExchange, preferGetMethod) and Apollo Client (useGETForQueries) send by default. */
const URQL_ACCEPT = "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed";
const APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9";

describe("browsers and clients", () => {
  let api: TestApi;
  let listed: TestApi;
  let kim: TestUser;
  beforeAll(async () => {
    api = await startTestApi();
    listed = await startTestApi({ CORS_ORIGINS: "https://app.example,http://localhost:5173" });
    kim = await registerUser(api, "kim");
  });
  afterAll(async () => {
    await api?.stop();
    await listed?.stop();
  });

  it("answers CORS preflights for /graphql and the byte routes from the listed origins only, without credentials", async () => {
    const preflight = (url: string, origin: string, method: string, headers: string) =>
      fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers } });
    const ok = await preflight(`${listed.url}/graphql`, "https://app.example", "POST", "content-type,authorization");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(ok.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(ok.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    expect(ok.headers.get("vary")).toMatch(/origin/i);
    const stranger = await preflight(`${listed.url}/graphql`, "https://evil.example", "POST", "content-type");
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    const bytes = await preflight(`${listed.url}/uploads/abc`, "http://localhost:5173", "PUT", "content-type");
    expect(bytes.status).toBe(204);
    expect(bytes.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(bytes.headers.get("access-control-allow-methods")).toMatch(/PUT/);
    const strangerBytes = await preflight(`${listed.url}/files/media/abc`, "https://evil.example", "GET", "range");
    expect(strangerBytes.headers.get("access-control-allow-origin")).toBeNull();
    // The actual request carries the header too, and exposes the request id to scripts.
    const post = await fetch(`${listed.url}/graphql`, {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(post.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(post.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);
    // Outside production the default is any origin.
    const any = await preflight(`${api.url}/graphql`, "https://anything.example", "POST", "content-type");
    expect(any.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("runs GET queries as urql and Apollo Client send them, never a mutation, and keeps CSRF prevention", async () => {
    const query = encodeURIComponent("query Me { me { username } }");
    for (const accept of [URQL_ACCEPT, APOLLO_ACCEPT]) {
      const res = await fetch(`${api.url}/graphql?query=${query}&operationName=Me`, { headers: { accept, authorization: `Bearer ${kim.token}` } });
      expect(res.status, accept).toBe(200);
      expect(await res.json()).toEqual({ data: { me: { username: "kim" } } });
    }
    const mutation = encodeURIComponent(`mutation { logout }`);
    const refused = await fetch(`${api.url}/graphql?query=${mutation}`, { headers: { accept: URQL_ACCEPT, authorization: `Bearer ${kim.token}` } });
    expect(refused.status).toBe(405);
    // A GET that a page could make with an <img> or a <form> stays blocked.
    const simple = await fetch(`${api.url}/graphql?query=${query}`, { headers: { accept: "*/*" } });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toMatch(/Cross-Site Request Forgery/);
  });

  it("answers a syntax error with 400 GRAPHQL_PARSE_FAILED, a subscription over HTTP with 400 pointing to WebSockets, a too deep query with its depth", async () => {
    const post = (query: string) =>
      fetch(`${api.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    const syntax = await post("{ me { id ");
    expect(syntax.status).toBe(400);
    expect(((await syntax.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    const huge = await post(`{ ${Array.from({ length: 2100 }, () => "__typename").join(" ")} }`);
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors[0]).toMatchObject({
      message: expect.stringMatching(/tokens/),
      extensions: { code: "GRAPHQL_PARSE_FAILED" },
    });
    const sub = await post("subscription { callUpdated { id } }");
    expect(sub.status).toBe(400);
    const subBody = (await sub.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(subBody.errors[0].message).toMatch(/use the WebSocket endpoint/);
    expect(subBody.errors[0].extensions.code).toBe("BAD_REQUEST");
    const deep = "{ me { " + "contact { user { ".repeat(8) + "id" + " } }".repeat(8) + " } }";
    const tooDeep = await post(deep);
    expect(tooDeep.status).toBe(400);
    const deepBody = (await tooDeep.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(deepBody.errors[0].message).toMatch(/^Query depth limit of 10 exceeded/);
    expect(deepBody.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("echoes the client's x-request-id, or makes one", async () => {
    const given = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "req-123.abc" } });
    expect(given.headers.get("x-request-id")).toBe("req-123.abc");
    const made = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "bad id with spaces" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves the SDL at /schema.graphql", async () => {
    const res = await fetch(`${api.url}/schema.graphql?download`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/schema\.graphql/);
    const sdl = await res.text();
    expect(sdl).toContain("type Query");
    expect(sdl).toContain("scalar DateTime");
  });

  it("accepts the token as `Authorization` in graphql-ws connectionParams (GraphiQL's spelling)", async () => {
    const lou = await registerUser(api, "lou");
    const client = createClient({
      url: wsUrl(api.url),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${lou.token}` },
    });
    try {
      // graphql-ws acknowledges no subscribe: live once the server listens on lou's user topic.
      const { first } = await listening(api, topic("USER", lou.id), () => ({
        first: new Promise<unknown>((resolve, reject) => {
          const stop = client.subscribe<{ messageAdded: { content: string } }>(
            { query: "subscription { messageAdded { content } }" },
            {
              next: (v) => {
                resolve(v);
                stop();
              },
              error: reject,
              complete: () => undefined,
            },
          );
        }),
      }));
      const sent = await api.gql(
        `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`,
        { i: { recipientId: lou.id, content: "hi lou" } },
        kim.token,
      );
      expect(sent.errors).toBeUndefined();
      expect(await first).toEqual({ data: { messageAdded: { content: "hi lou" } } });
    } finally {
      await client.dispose();
    }
  });

  it("passes the GraphQL-over-HTTP audit (graphql-http) with no error", async () => {
    const results = await auditServer({ url: `${api.url}/graphql` });
    const errors = results.flatMap((r) => (r.status === "error" ? [`${r.name}: ${r.reason}`] : []));
    expect(errors).toEqual([]);
  });
});
