/**
 * Login throttling (issue 9 §4) over real HTTP, two instances sharing Redis: failures count per
 * (account, IP) pair with exponential backoff, and per IP; the username and the email of one
 * account share a budget; the owner on another address is never locked out; successes are not
 * counted; X-Forwarded-For counts only behind TRUST_PROXY (HTTP and WebSocket alike).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import { startTestApi, startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { wsUrl } from "../helpers/ws.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { until } from "../helpers/wait.js";

const hasRedis = await redisAvailable();
const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`;
const PASSWORD = "password-123";

interface Answer {
  data?: { login: { accessToken: string } } | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

async function login(api: TestApi, name: string, password: string, ip?: string): Promise<Answer> {
  const res = await fetch(`${api.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(ip ? { "x-forwarded-for": ip } : {}) },
    body: JSON.stringify({ query: LOGIN, variables: { i: { login: name, password } } }),
  });
  return (await res.json()) as Answer;
}

const code = (a: Answer): unknown => a.errors?.[0]?.extensions?.code ?? (a.data?.login ? "OK" : undefined);

/** A login over graphql-ws, the upgrade request carrying X-Forwarded-For. */
async function loginOverWs(api: TestApi, name: string, password: string, ip: string): Promise<Answer> {
  class ForwardedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { "x-forwarded-for": ip } });
    }
  }
  const client = createClient({ url: wsUrl(api.url), webSocketImpl: ForwardedWebSocket, retryAttempts: 0 });
  try {
    const iterator = client.iterate({ query: LOGIN, variables: { i: { login: name, password } } });
    const first = await iterator.next();
    return first.value as Answer;
  } finally {
    await client.dispose();
  }
}

describe.skipIf(!hasRedis)("login throttling shared by two instances", () => {
  let a: TestApi;
  let b: TestApi;
  const env = { REDIS_URL, TRUST_PROXY: "loopback", LOGIN_FREE_FAILURES: "2", LOGIN_BACKOFF_BASE_SECONDS: "60", LOGIN_IP_FAILURE_LIMIT: "6/900" };

  beforeAll(async () => {
    ({ a, b } = await startTwoTestApis(env));
  });
  afterAll(async () => {
    await stopTestApis(b, a);
  });

  it("blocks the attacker's address for an account, whether it names the username or the email, but never its owner elsewhere", async () => {
    await registerUser(a, "alice_t");
    expect(code(await login(a, "alice_t", "wrong-1", "10.0.0.1"))).toBe("UNAUTHENTICATED");
    expect(code(await login(b, "alice_t@example.com", "wrong-2", "10.0.0.1"))).toBe("UNAUTHENTICATED");
    expect(code(await login(a, "ALICE_T@example.com", "wrong-3", "10.0.0.1"))).toBe("UNAUTHENTICATED");
    // The third failure of that pair blocks it, on both instances, even with the right password.
    for (const api of [a, b]) {
      const limited = await login(api, "alice_t", PASSWORD, "10.0.0.1");
      expect(limited.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
      expect(limited.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(limited.errors?.[0]?.extensions?.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    // The owner, from their own address, logs in.
    expect(code(await login(b, "alice_t", PASSWORD, "10.0.0.2"))).toBe("OK");
  });

  it("applies the same client address to WebSocket operations (X-Forwarded-For of the upgrade request)", async () => {
    await registerUser(a, "wendy_t");
    for (let i = 0; i < 3; i++) expect(code(await loginOverWs(a, "wendy_t", `wrong-${i}`, "10.0.3.1"))).toBe("UNAUTHENTICATED");
    expect(code(await login(b, "wendy_t", PASSWORD, "10.0.3.1"))).toBe("RATE_LIMITED");
    expect(code(await loginOverWs(b, "wendy_t", PASSWORD, "10.0.3.2"))).toBe("OK");
  });

  it("limits the failures of one address across accounts, and not other addresses", async () => {
    await registerUser(a, "carol_t");
    for (let i = 0; i < 6; i++) expect(code(await login(i % 2 ? a : b, `nobody-${i}`, "guess", "10.0.2.1"))).toBe("UNAUTHENTICATED");
    const limited = await login(a, "carol_t", PASSWORD, "10.0.2.1");
    expect(limited.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
    expect(code(await login(b, "carol_t", PASSWORD, "10.0.2.2"))).toBe("OK");
  });

  it("does not count successful logins (many users behind one address)", async () => {
    await registerUser(a, "dan_t");
    // More than the old fixed budget of 100 attempts per address.
    for (let round = 0; round < 26; round++) {
      const answers = await Promise.all([a, b, a, b].map((api) => login(api, "dan_t", PASSWORD, "10.0.4.1")));
      expect(answers.map(code)).toEqual(["OK", "OK", "OK", "OK"]);
    }
  });
});

describe.skipIf(!hasRedis)("login backoff", () => {
  let a: TestApi;
  let b: TestApi;

  beforeAll(async () => {
    const env = { REDIS_URL, TRUST_PROXY: "1", LOGIN_FREE_FAILURES: "2", LOGIN_BACKOFF_BASE_SECONDS: "1" };
    ({ a, b } = await startTwoTestApis(env));
  });
  afterAll(async () => {
    await stopTestApis(b, a);
  });

  it("doubles the wait after each further failure instead of a fixed lockout", async () => {
    await registerUser(a, "eve_t");
    const ip = "10.0.1.1";
    expect(code(await login(a, "eve_t", "wrong", ip))).toBe("UNAUTHENTICATED");
    expect(code(await login(b, "eve_t", "wrong", ip))).toBe("UNAUTHENTICATED");
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(code(await login(i % 2 ? a : b, "eve_t", "wrong", ip))).toBe("UNAUTHENTICATED");
      const limited = await login(i % 2 ? b : a, "eve_t", "wrong", ip);
      expect(code(limited)).toBe("RATE_LIMITED");
      waits.push(limited.errors![0].extensions!.retryAfterSeconds as number);
      // Wait out the block (polling what the server says), then fail once more.
      await until(async () => !(await fetchBlocked(a, ip)), "the login block to end", { intervalMs: 200, tries: 100 });
    }
    expect(waits).toEqual([1, 2, 4]);
    // The right password works once the block is over, and clears the count.
    expect(code(await login(a, "eve_t", PASSWORD, ip))).toBe("OK");
  });

  /** Whether the pair is still blocked, asked without adding a failure: the rate limiter itself. */
  async function fetchBlocked(api: TestApi, ip: string): Promise<boolean> {
    const user = await api.db.models.User.findOne({ username: "eve_t" });
    return (await api.server.services.rateLimiter.blockedMs(`login:pair:u:${user!._id.toHexString()}:${ip}`)) > 0;
  }
});

describe("login without TRUST_PROXY", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ LOGIN_FREE_FAILURES: "2", LOGIN_BACKOFF_BASE_SECONDS: "60" });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("ignores X-Forwarded-For: a client cannot pick a fresh address per attempt", async () => {
    await registerUser(api, "fay_t");
    for (let i = 0; i < 3; i++) expect(code(await login(api, "fay_t", "wrong", `10.9.0.${i}`))).toBe("UNAUTHENTICATED");
    expect(code(await login(api, "fay_t", PASSWORD, "10.9.0.99"))).toBe("RATE_LIMITED");
  });
});
