/**
 * The real Redis at 127.0.0.1:6379 (REDIS_TEST_URL to change it). Outside CI a machine without
 * Redis skips the tests that need it, with a notice; under CI=true they fail instead.
 */
import net from "node:net";
import { Redis } from "ioredis";

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

export interface RedisProxy {
  url: string;
  /** Drops every connection and refuses new ones (accepted, then closed at once). */
  down(): void;
  up(): void;
  /** Client connections open through the proxy now. */
  open(): number;
  /** Connections refused since the last down(): the clients' reconnect attempts. */
  refused(): number;
  close(): Promise<void>;
}

/** A TCP proxy to the real Redis (same database number) that a test can cut and restore. */
export async function redisProxy(): Promise<RedisProxy> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let refusing = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      refused++;
      return client.destroy();
    }
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    clients.add(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => {
        sockets.delete(s);
        clients.delete(s);
      });
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    down() {
      refusing = true;
      refused = 0;
      for (const s of sockets) s.destroy();
    },
    up() {
      refusing = false;
    },
    open: () => clients.size,
    refused: () => refused,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
