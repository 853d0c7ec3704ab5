/**
 * How many graphql-ws connections each user has, across every API instance.
 *
 * In memory for a single instance. With Redis, per instance and per user, the way design.md
 * asks: each instance keeps a heartbeat key with an expiry and lists the users it holds; a
 * user's connections are a hash of instance → count, and only live instances' counts are
 * added up. When an instance dies without cleaning up, its heartbeat expires and the next
 * sweep of any other instance removes its counts and reports the users left with none.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { createRedisClient, silentRedisLog, type RedisLog } from "../../common/redis.js";

export interface ConnectionTracker {
  /** One more connection of this user on this instance; returns their connections across all live instances. */
  add(userId: string): Promise<number>;
  /** One fewer; returns this user's connections left across all live instances. */
  remove(userId: string): Promise<number>;
  /** This user's connections across all live instances. */
  total(userId: string): Promise<number>;
  /** Starts heartbeats and sweeps; `onOrphaned` gets users whose last connections died with an instance. */
  start(onOrphaned: (userId: string) => Promise<void>, onError: (err: unknown) => void): void;
  /** Users with connections on this instance (for a graceful stop). */
  localUsers(): string[];
  stop(): Promise<void>;
}

export class LocalConnectionTracker implements ConnectionTracker {
  private readonly counts = new Map<string, number>();

  async add(userId: string): Promise<number> {
    const count = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, count);
    return count;
  }

  async remove(userId: string): Promise<number> {
    const left = Math.max(0, (this.counts.get(userId) ?? 0) - 1);
    if (left === 0) this.counts.delete(userId);
    else this.counts.set(userId, left);
    return left;
  }

  async total(userId: string): Promise<number> {
    return this.counts.get(userId) ?? 0;
  }

  start(): void {}

  localUsers(): string[] {
    return [...this.counts.keys()];
  }

  async stop(): Promise<void> {}
}

export class RedisConnectionTracker implements ConnectionTracker {
  private readonly redis: Redis;
  private readonly instanceId = randomBytes(8).toString("hex");
  private readonly local = new Map<string, number>();
  /** Users whose count could not be written (Redis away): rewritten from `local` at the next heartbeat. */
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private beaten = false;

  /**
   * @param prefix namespaces the keys (the database name: deployments sharing a Redis stay apart)
   * @param ttlSeconds lifetime of this instance's heartbeat; refreshed every third of it
   */
  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    log: RedisLog = silentRedisLog,
  ) {
    this.redis = createRedisClient(redisUrl, "presence", log, { maxRetriesPerRequest: 3 });
  }

  private key(...parts: string[]): string {
    return [this.prefix, "presence", ...parts].join(":");
  }

  async add(userId: string): Promise<number> {
    const count = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, count);
    await this.write(userId, count);
    return this.total(userId);
  }

  async remove(userId: string): Promise<number> {
    const left = Math.max(0, (this.local.get(userId) ?? 0) - 1);
    if (left === 0) this.local.delete(userId);
    else this.local.set(userId, left);
    await this.write(userId, left);
    return this.total(userId);
  }

  /**
   * This instance's count for a user, written as a value (not an increment), so a write that
   * failed while Redis was away is simply written again, from `local`, at the next heartbeat.
   */
  private async write(userId: string, count: number): Promise<void> {
    try {
      if (count === 0) await this.redis.multi().hdel(this.key("conn", userId), this.instanceId).srem(this.key("users", this.instanceId), userId).exec();
      else await this.redis.multi().hset(this.key("conn", userId), this.instanceId, count).sadd(this.key("users", this.instanceId), userId).exec();
      this.dirty.delete(userId);
    } catch (err) {
      this.dirty.add(userId);
      throw err;
    }
  }

  async total(userId: string): Promise<number> {
    const counts = await this.redis.hgetall(this.key("conn", userId));
    const ids = Object.keys(counts);
    if (ids.length === 0) return 0;
    const alive = await Promise.all(ids.map((id) => this.redis.exists(this.key("alive", id))));
    return ids.reduce((sum, id, i) => sum + (alive[i] ? Math.max(0, Number(counts[id])) : 0), 0);
  }

  private async beat(): Promise<void> {
    const result = await this.redis
      .multi()
      .set(this.key("alive", this.instanceId), "1", "EX", this.ttlSeconds)
      .sadd(this.key("instances"), this.instanceId)
      .exec();
    // Added anew after the first beat: another instance swept this one as dead while Redis was
    // away from it (and removed its counts); they are written again from `local`.
    if (result?.[1]?.[1] === 1 && this.beaten) for (const userId of this.local.keys()) this.dirty.add(userId);
    this.beaten = true;
    for (const userId of [...this.dirty]) await this.write(userId, this.local.get(userId) ?? 0);
  }

  /** Other instances whose heartbeat expired: exactly one live instance claims each (SREM returns 1). */
  private async sweep(onOrphaned: (userId: string) => Promise<void>): Promise<void> {
    for (const id of await this.redis.smembers(this.key("instances"))) {
      if (id === this.instanceId || (await this.redis.exists(this.key("alive", id)))) continue;
      if ((await this.redis.srem(this.key("instances"), id)) !== 1) continue;
      const users = await this.redis.smembers(this.key("users", id));
      for (const userId of users) {
        await this.redis.hdel(this.key("conn", userId), id);
        if ((await this.total(userId)) === 0) await onOrphaned(userId);
      }
      await this.redis.del(this.key("users", id));
    }
  }

  start(onOrphaned: (userId: string) => Promise<void>, onError: (err: unknown) => void): void {
    const tick = () =>
      this.beat()
        .then(() => this.sweep(onOrphaned))
        .catch(onError);
    void tick();
    this.timer = setInterval(tick, Math.max(500, (this.ttlSeconds * 1000) / 3));
    this.timer.unref();
  }

  localUsers(): string[] {
    return [...this.local.keys()];
  }

  /**
   * A graceful stop leaves its counts to expire with the heartbeat: clients reconnecting to
   * another instance within that time never appear offline; those that do not are swept.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.redis.disconnect();
  }
}
