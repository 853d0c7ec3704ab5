/**
 * Attempt counters (fixed windows), blocks and token buckets behind one interface. In memory
 * for a single instance; with Redis, shared by every instance, so spreading attempts over
 * instances gains nothing. Windows and blocks are rate-limiter-flexible's (RateLimiterMemory /
 * RateLimiterRedis); token buckets are one atomic Lua script in Redis (clocked by Redis' TIME,
 * so instances with skewed clocks agree) or a map in memory.
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimited } from "../errors.js";
import { createRedisClient, silentRedisLog, type RedisLog } from "../common/redis.js";

export interface RateRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
}

/** A token bucket: `capacity` tokens (the burst), refilled at `capacity / perSeconds` per second. */
export interface Bucket {
  capacity: number;
  perSeconds: number;
}

export interface RateLimiter {
  /** Counts one attempt under `key`; throws RATE_LIMITED (with retryAfterSeconds) past the limit. */
  hit(key: string, rule: RateRule): Promise<void>;
  /** Forgets the attempts counted under `key` and `rule` (e.g. after a successful login). */
  reset(key: string, rule: RateRule): Promise<void>;
  /** Counts one attempt without refusing; the count in the current window. */
  add(key: string, rule: RateRule): Promise<number>;
  /** The count in the current window and the milliseconds left in it, changing nothing. */
  peek(key: string, rule: RateRule): Promise<{ count: number; msLeft: number }>;
  /** Refuses `key` for `seconds` (see blockedMs). */
  block(key: string, seconds: number): Promise<void>;
  /** Milliseconds `key` stays blocked; 0 when it is not. */
  blockedMs(key: string): Promise<number>;
  /** Takes `cost` tokens from the bucket under `key`; throws RATE_LIMITED when there are not enough (nothing taken). */
  take(key: string, bucket: Bucket, cost?: number): Promise<void>;
  close(): Promise<void>;
}

const retryAfter = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Windows and blocks through rate-limiter-flexible; the store is given by `make`. */
abstract class FlexibleRateLimiter implements RateLimiter {
  private readonly byRule = new Map<string, RateLimiterAbstract>();
  private blocker: RateLimiterAbstract | null = null;

  protected abstract make(keyPrefix: string, points: number, duration: number): RateLimiterAbstract;
  abstract take(key: string, bucket: Bucket, cost?: number): Promise<void>;
  abstract close(): Promise<void>;

  private limiter(rule: RateRule): RateLimiterAbstract {
    const id = `${rule.limit}/${rule.windowSeconds}`;
    let limiter = this.byRule.get(id);
    if (!limiter) {
      limiter = this.make(`rate:${id}`, rule.limit, rule.windowSeconds);
      this.byRule.set(id, limiter);
    }
    return limiter;
  }

  private blocks(): RateLimiterAbstract {
    return (this.blocker ??= this.make("block", 1, 1));
  }

  async hit(key: string, rule: RateRule): Promise<void> {
    try {
      await this.limiter(rule).consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(retryAfter(err.msBeforeNext));
      throw err;
    }
  }

  async reset(key: string, rule: RateRule): Promise<void> {
    await this.limiter(rule).delete(key);
  }

  async add(key: string, rule: RateRule): Promise<number> {
    return (await this.limiter(rule).penalty(key, 1)).consumedPoints;
  }

  async peek(key: string, rule: RateRule): Promise<{ count: number; msLeft: number }> {
    const res = await this.limiter(rule).get(key);
    return { count: res?.consumedPoints ?? 0, msLeft: res?.msBeforeNext ?? 0 };
  }

  async block(key: string, seconds: number): Promise<void> {
    await this.blocks().block(key, seconds);
  }

  async blockedMs(key: string): Promise<number> {
    const res = await this.blocks().get(key);
    return res && res.consumedPoints > 1 ? Math.max(0, res.msBeforeNext) : 0;
  }
}

export class MemoryRateLimiter extends FlexibleRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  protected make(keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
    return new RateLimiterMemory({ keyPrefix, points, duration });
  }

  async take(key: string, bucket: Bucket, cost = 1): Promise<void> {
    const now = this.now();
    if (this.buckets.size > 10_000) this.prune(now);
    const rate = bucket.capacity / (bucket.perSeconds * 1000);
    const state = this.buckets.get(key);
    const tokens = Math.min(bucket.capacity, state ? state.tokens + (now - state.at) * rate : bucket.capacity);
    if (tokens < cost) throw rateLimited(retryAfter((cost - tokens) / rate));
    this.buckets.set(key, { tokens: tokens - cost, at: now });
  }

  /** A bucket untouched for an hour is full again for every rule we have: forget it. */
  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 3600_000) this.buckets.delete(k);
  }

  async close(): Promise<void> {}
}

/** Refill, then take when there are enough tokens; the answer is 0 or the milliseconds to wait. */
const TAKE_TOKENS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = cap
if state[1] then tokens = math.min(cap, tonumber(state[1]) + (now - tonumber(state[2])) * rate) end
if tokens < cost then return math.ceil((cost - tokens) / rate) end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate) + 1000)
return 0
`;

type TokenRedis = Redis & { takeTokens(key: string, capacity: number, rate: string, cost: number): Promise<number> };

/**
 * Limits shared by every instance through Redis. While Redis is unreachable each instance keeps
 * limiting on its own (rate-limiter-flexible's insurance limiter, and a memory bucket), so an
 * outage neither fails every write nor lifts the limits.
 */
export class RedisRateLimiter extends FlexibleRateLimiter {
  private readonly redis: TokenRedis;
  private readonly local = new MemoryRateLimiter();

  /** Keys are namespaced by `prefix` (the database name), so test databases do not mix. */
  constructor(
    redisUrl: string,
    private readonly prefix: string,
    log: RedisLog = silentRedisLog,
  ) {
    super();
    // No offline queue: while disconnected a command fails at once and the local limiter answers.
    // Connection errors are answered per call (the local fallback); ioredis retries by itself.
    this.redis = createRedisClient(redisUrl, "rate-limits", log, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) as TokenRedis;
    this.redis.defineCommand("takeTokens", { numberOfKeys: 1, lua: TAKE_TOKENS });
  }

  protected make(keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: `${this.prefix}:${keyPrefix}`,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  }

  async take(key: string, bucket: Bucket, cost = 1): Promise<void> {
    const rate = bucket.capacity / (bucket.perSeconds * 1000);
    let waitMs: number;
    try {
      waitMs = await this.redis.takeTokens(`${this.prefix}:bucket:${bucket.capacity}/${bucket.perSeconds}:${key}`, bucket.capacity, String(rate), cost);
    } catch {
      return this.local.take(key, bucket, cost);
    }
    if (waitMs > 0) throw rateLimited(retryAfter(waitMs));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export const RESET_PER_ACCOUNT: RateRule = { limit: 5, windowSeconds: 60 * 60 };
export const RESET_PER_IP: RateRule = { limit: 20, windowSeconds: 60 * 60 };
