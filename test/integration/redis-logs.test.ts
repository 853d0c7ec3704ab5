/**
 * What an operator reads when Redis goes away: the real process (`node dist/index.js`) behind a
 * TCP proxy to Redis that the test cuts twice. Each Redis connection (pubsub publish and
 * subscribe, presence, rate limits) logs exactly one warn per outage with its role and an
 * error code, and one info line when it is back, however many reconnect attempts fail in
 * between; ioredis never prints "Unhandled error event".
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { logLines, spawnApi, type RunningApi } from "../helpers/process.js";
import { redisAvailable, redisProxy, type RedisProxy } from "../helpers/redis.js";
import { until } from "../helpers/wait.js";

const hasRedis = await redisAvailable();

/** Every Redis connection of one API process. */
const ROLES = ["pubsub.publish", "pubsub.subscribe", "presence", "rate-limits"];

describe.skipIf(!hasRedis)("Redis outage logs of the real process", () => {
  let proxy: RedisProxy;
  let api: RunningApi;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    proxy = await redisProxy();
  });
  afterEach(() => {
    for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const redisLines = (level: number) => logLines(api.output()).filter((l) => l.level === level && typeof l.redis === "string");
  const countByRole = (level: number) => Object.fromEntries(ROLES.map((r) => [r, redisLines(level).filter((l) => l.redis === r).length]));

  it("logs one warn per connection and outage (with its code) and one line when Redis is back; nothing unhandled", async () => {
    api = await spawnApi(
      {
        ...process.env,
        PORT: "0",
        LOG_LEVEL: "info",
        NODE_ENV: "development",
        JWT_SECRET: "redis-logs-secret-0123456789abcdef",
        MONGODB_URI: "",
        EMBEDDED_DB_PATH: ":memory:",
        REDIS_URL: proxy.url,
      },
      ["dist/index.js"],
      (p) => started.push(p),
    );
    expect(api.port, api.output()).toBeGreaterThan(0);
    await until(() => proxy.open() === ROLES.length, "every Redis connection through the proxy");

    for (const outage of [1, 2]) {
      proxy.down();
      await until(() => Object.values(countByRole(40)).every((n) => n === outage), `a warn from every role (outage ${outage})`);
      // Many reconnect attempts fail while it is down; none of them adds a line.
      await until(() => proxy.refused() >= 3 * ROLES.length, "reconnect attempts to be refused");
      proxy.up();
      await until(() => Object.values(countByRole(30)).every((n) => n === outage), `every role back (outage ${outage})`);
      await until(() => proxy.open() === ROLES.length, "every connection re-established");
      expect(countByRole(40)).toEqual(Object.fromEntries(ROLES.map((r) => [r, outage])));
    }
    for (const line of redisLines(40)) {
      expect(line.code, JSON.stringify(line)).toMatch(/^[A-Z_]+$/);
      expect(line.msg).toContain(`Redis (${line.redis}) unreachable`);
    }
    // HTTP still answered while Redis was away and after: the process is healthy.
    expect((await fetch(`http://127.0.0.1:${api.port}/readyz`)).status).toBe(200);

    api.proc.kill("SIGTERM");
    expect(await api.exited).toBe(0);
    expect(api.output()).not.toContain("Unhandled error event");
    expect(api.stderr()).toBe("");
  }, 120_000);
});
