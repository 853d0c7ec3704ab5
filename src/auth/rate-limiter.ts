/**
 * Fixed-window attempt counters for login and password-reset requests, per account and per IP.
 * In memory for a single instance (entries expire with their window); with Redis, shared by
 * every instance (rate-limiter-flexible), so spreading attempts over instances gains nothing.
 */
import { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { rateLimited } from "../errors.js";

export interface RateRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimiter {
  /** Counts one attempt under `key`; throws RATE_LIMITED (with retryAfterSeconds) past the limit. */
  hit(key: string, rule: RateRule): Promise<void>;
  /** Forgets the attempts counted under `key` and `rule` (e.g. after a successful login). */
  reset(key: string, rule: RateRule): Promise<void>;
  close(): Promise<void>;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, rule: RateRule): Promise<void> {
    const now = this.now();
    if (this.windows.size > 10_000) this.prune(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + rule.windowSeconds * 1000 };
      this.windows.set(key, w);
    }
    if (w.count >= rule.limit) throw rateLimited(Math.max(1, Math.ceil((w.resetAt - now) / 1000)));
    w.count++;
  }

  async reset(key: string, _rule: RateRule): Promise<void> {
    this.windows.delete(key);
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  async close(): Promise<void> {}
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  /** One counter set per rule (its limit and window), keys namespaced by `prefix`. */
  private readonly byRule = new Map<string, RateLimiterRedis>();

  constructor(redisUrl: string, private readonly prefix: string) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  }

  private limiter(rule: RateRule): RateLimiterRedis {
    const id = `${rule.limit}/${rule.windowSeconds}`;
    let limiter = this.byRule.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({ storeClient: this.redis, keyPrefix: `${this.prefix}:rate:${id}`, points: rule.limit, duration: rule.windowSeconds });
      this.byRule.set(id, limiter);
    }
    return limiter;
  }

  async hit(key: string, rule: RateRule): Promise<void> {
    try {
      await this.limiter(rule).consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      throw err;
    }
  }

  async reset(key: string, rule: RateRule): Promise<void> {
    await this.limiter(rule).delete(key);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export const LOGIN_PER_ACCOUNT: RateRule = { limit: 10, windowSeconds: 15 * 60 };
export const LOGIN_PER_IP: RateRule = { limit: 100, windowSeconds: 15 * 60 };
export const RESET_PER_ACCOUNT: RateRule = { limit: 5, windowSeconds: 60 * 60 };
export const RESET_PER_IP: RateRule = { limit: 20, windowSeconds: 60 * 60 };
