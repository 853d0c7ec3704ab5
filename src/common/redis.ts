/**
 * Every Redis connection of the API comes from here, so an outage reads the same for all of
 * them: one warn line per connection role when it starts and one info line when the
 * connection is ready again. ioredis reconnects by itself and emits `error` at every failed
 * attempt (and prints "[ioredis] Unhandled error event" with a stack when nobody listens);
 * callers still see each failed command through its own promise.
 */
import { Redis, type RedisOptions } from "ioredis";

/** The two levels a Redis connection logs at (a pino Logger fits). */
export interface RedisLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** For callers that have no logger (outages are then silent, never "unhandled"). */
export const silentRedisLog: RedisLog = { warn: () => undefined, info: () => undefined };

/**
 * A client for `url`, reporting its outages under `role` (e.g. "pubsub.publish", "presence",
 * "rate-limits"). An outage starts at the first error or lost connection after the client was
 * ready (or at the first failed attempt to connect at all) and ends when it is ready again.
 */
export function createRedisClient(url: string, role: string, log: RedisLog, options: RedisOptions = {}): Redis {
  // Commands issued in one event-loop turn leave in one write (ioredis auto-pipelining), in
  // order: under load a send's publish and rate-limit script share writes with the other sends
  // of the same turn instead of a syscall each. A subscriber connection only issues (un)subscribe.
  const client = new Redis(url, { enableAutoPipelining: true, ...options });
  let down = false;
  const outage = (code: string, message: string): void => {
    if (down) return;
    down = true;
    log.warn({ redis: role, code, error: message }, `Redis (${role}) unreachable: retrying in the background`);
  };
  client.on("error", (err: Error & { code?: string }) => outage(err.code ?? err.name, err.message));
  // A connection dropped without a socket error (e.g. closed by a proxy) only says "reconnecting".
  client.on("reconnecting", () => outage("CONNECTION_LOST", "connection closed"));
  client.on("ready", () => {
    if (!down) return;
    down = false;
    log.info({ redis: role }, `Redis (${role}) is back`);
  });
  return client;
}
