/**
 * Fixed-window attempt counters for login and password-reset requests, per account and per IP.
 * In memory per instance (entries expire with their window); a Redis-backed counter can take
 * its place behind the same interface for several instances.
 */
import { rateLimited } from "../errors.js";

export interface RateRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimiter {
  /** Counts one attempt under `key`; throws RATE_LIMITED (with retryAfterSeconds) past the limit. */
  hit(key: string, rule: RateRule): Promise<void>;
  /** Forgets the attempts under `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>;
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

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}

export const LOGIN_PER_ACCOUNT: RateRule = { limit: 10, windowSeconds: 15 * 60 };
export const LOGIN_PER_IP: RateRule = { limit: 100, windowSeconds: 15 * 60 };
export const RESET_PER_ACCOUNT: RateRule = { limit: 5, windowSeconds: 60 * 60 };
export const RESET_PER_IP: RateRule = { limit: 20, windowSeconds: 60 * 60 };
