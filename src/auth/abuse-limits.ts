/**
 * The abuse limits of issue 9 in one place, over the shared RateLimiter (Redis when set, so
 * every instance counts together). Each check runs before anything is stored or published.
 */
import type { AbuseLimits } from "../config.js";
import { rateLimited } from "../errors.js";
import type { RateLimiter, RateRule } from "./rate-limiter.js";

/** Failures are remembered this long per account and IP (the backoff grows within it). */
const FAILURE_MEMORY: RateRule = { limit: 1_000_000, windowSeconds: 24 * 3600 };

/** Seconds the n-th failure blocks its account+IP pair: 0 for the free ones, then base, 2×base, 4×base… up to max. */
export function backoffSeconds(
  failures: number,
  limits: Pick<AbuseLimits, "loginFreeFailures" | "loginBackoffBaseSeconds" | "loginBackoffMaxSeconds">,
): number {
  const over = failures - limits.loginFreeFailures;
  if (over <= 0) return 0;
  return Math.min(limits.loginBackoffMaxSeconds, limits.loginBackoffBaseSeconds * 2 ** Math.min(over - 1, 30));
}

/**
 * Login throttling that cannot lock the owner out: failures count per (account, IP) pair, so
 * an attacker's guesses slow down only the attacker's address; a per-IP budget of failures
 * stops one address trying many accounts. `account` is the resolved user id when the login
 * names a known user (username and email share it), else the login as typed. Successful
 * logins are not counted and clear their pair.
 */
export class LoginThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly limits: AbuseLimits,
  ) {}

  private pair(account: string, ip: string): string {
    return `login:pair:${account}:${ip}`;
  }

  async check(account: string, ip: string): Promise<void> {
    const perIp = await this.limiter.peek(`login:ip:${ip}`, this.limits.loginIpFailures);
    if (perIp.count >= this.limits.loginIpFailures.limit) throw rateLimited(Math.max(1, Math.ceil(perIp.msLeft / 1000)));
    const blockedMs = await this.limiter.blockedMs(this.pair(account, ip));
    if (blockedMs > 0) throw rateLimited(Math.ceil(blockedMs / 1000));
  }

  async failed(account: string, ip: string): Promise<void> {
    const [failures] = await Promise.all([
      this.limiter.add(this.pair(account, ip), FAILURE_MEMORY),
      this.limiter.add(`login:ip:${ip}`, this.limits.loginIpFailures),
    ]);
    const seconds = backoffSeconds(failures, this.limits);
    if (seconds > 0) await this.limiter.block(this.pair(account, ip), seconds);
  }

  async succeeded(account: string, ip: string): Promise<void> {
    await this.limiter.reset(this.pair(account, ip), FAILURE_MEMORY);
  }
}

/** Per-user (and per-IP for registration) token buckets for the write paths others can feel. */
export class AbuseGuard {
  readonly login: LoginThrottle;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly limits: AbuseLimits,
  ) {
    this.login = new LoginThrottle(limiter, limits);
  }

  register(ip: string): Promise<void> {
    return this.limiter.take(`register:ip:${ip}`, this.limits.registerPerIp);
  }

  /** Every message of a user, direct or group. */
  message(userId: string): Promise<void> {
    return this.limiter.take(`msg:user:${userId}`, this.limits.messages);
  }

  /** A direct message to someone who has not accepted the sender as a contact: per conversation. */
  strangerMessage(userId: string, recipientId: string): Promise<void> {
    return this.limiter.take(`msg:stranger:${userId}:${recipientId}`, this.limits.strangerMessages);
  }

  typing(userId: string): Promise<void> {
    return this.limiter.take(`typing:user:${userId}`, this.limits.typing);
  }

  /** addReaction and removeReaction (each one is a live event to every member). */
  reaction(userId: string): Promise<void> {
    return this.limiter.take(`reaction:user:${userId}`, this.limits.reactions);
  }

  /**
   * The other writes on messages and conversations (edit, delete, hide, pin, mute, archive,
   * mark unread): one budget, so none of them is an unlimited write path.
   */
  memberAction(userId: string): Promise<void> {
    return this.limiter.take(`member-action:user:${userId}`, this.limits.memberActions);
  }

  callSignal(userId: string): Promise<void> {
    return this.limiter.take(`signal:user:${userId}`, this.limits.callSignals);
  }

  contactRequest(userId: string): Promise<void> {
    return this.limiter.take(`contact:user:${userId}`, this.limits.contactRequests);
  }

  /** createGroup and addGroupMembers. */
  groupChange(userId: string): Promise<void> {
    return this.limiter.take(`group:user:${userId}`, this.limits.groupChanges);
  }
}
