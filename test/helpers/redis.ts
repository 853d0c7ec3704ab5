/**
 * The real Redis at 127.0.0.1:6379 (REDIS_TEST_URL to change it). Outside CI a machine without
 * Redis skips the tests that need it, with a notice; under CI=true they fail instead.
 */
import { Redis } from "ioredis";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export const REDIS_URL = process.env.REDIS_TEST_URL ?? "redis://127.0.0.1:6379";

export async function redisAvailable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    if (process.env.CI === "true") throw new Error(`Redis is required under CI=true but ${REDIS_URL} did not answer`);
    console.warn(`[skip] Redis at ${REDIS_URL} is not reachable; skipping the multi-instance tests`);
    return false;
  } finally {
    client.disconnect();
  }
}

export type RedisProxy = TcpProxy;

/** A TCP proxy to the real Redis (same database number) that a test can cut and restore. */
export function redisProxy(): Promise<RedisProxy> {
  return startTcpProxy(REDIS_URL);
}
