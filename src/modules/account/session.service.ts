/**
 * Logins ("sessions": one refresh-token family each): creating them, telling whether one is
 * still alive, listing them, and ending them.
 *
 * Ending goes through ONE method, `end`: it revokes the sessions in the database and publishes
 * `sessions.ended` on the user's ACCOUNT topic, on which every instance closes the sockets of
 * those sessions with 4401. Whatever ends a login (logout, password change or reset, refresh
 * token reuse, deactivation, revokeSession) calls it, so one place can be hooked (audit log).
 */
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { driverCollection } from "../../common/lean.js";
import { notFound } from "../../errors.js";
import type { AppPubSub } from "../../pubsub.js";
import type { AccountTopics, SessionEndReason } from "./account.events.js";
import type { Session } from "./session.entity.js";

/** `last_used_at` is kept to the minute: at most one write per session per minute per instance. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Which of a user's logins to end. */
export type SessionScope = { familyIds: string[] } | { allExcept: string | null };

/** Where a login came from, as the sessions list shows it. */
export interface LoginOrigin {
  device?: Record<string, string> | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface SessionServiceOptions {
  refreshTokenTtlSeconds: number;
  /** Absolute lifetime of a login (SESSION_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
  /** Called after sessions ended (the security log hooks here). */
  onEnded?: (userId: string, sessionIds: string[], reason: SessionEndReason) => unknown;
}

export class SessionService {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly models: Models,
    private readonly pubSub: AppPubSub<AccountTopics>,
    private readonly options: SessionServiceOptions,
  ) {}

  /**
   * Stores a refresh token of a login: a new family (no `previous`), or the next rotation of
   * `previous`, whose origin, start and hard end it carries forward.
   */
  async store(userId: Types.ObjectId, familyId: string, tokenHash: string, origin: LoginOrigin, previous: Session | null): Promise<DocumentType<Session>> {
    const now = new Date();
    const hardEnd = previous?.absolute_expires_at ?? new Date(now.getTime() + this.options.maxAgeSeconds * 1000);
    const sliding = new Date(now.getTime() + this.options.refreshTokenTtlSeconds * 1000);
    return this.models.Session.create({
      user_id: userId,
      family_id: familyId,
      token_hash: tokenHash,
      expires_at: sliding < hardEnd ? sliding : hardEnd,
      absolute_expires_at: hardEnd,
      device: previous ? previous.device : (origin.device ?? null),
      ip: previous ? previous.ip : (origin.ip ?? null),
      user_agent: previous ? previous.user_agent : (origin.userAgent?.slice(0, 256) ?? null),
      started_at: previous?.started_at ?? now,
      last_used_at: now,
    });
  }

  /** True while the login of an access token is neither revoked nor past its end. */
  async isActive(familyId: string): Promise<boolean> {
    // Through the driver (common/lean.ts): every authenticated request asks this.
    const live = await driverCollection(this.models.Session).findOne(
      { family_id: familyId, revoked_at: null, expires_at: { $gt: new Date() } },
      { projection: { _id: 1 } },
    );
    return live !== null;
  }

  /** The viewer's live logins (one head document each), most recently used first. */
  list(userId: string): Promise<Array<DocumentType<Session>>> {
    return this.models.Session.find({
      user_id: new Types.ObjectId(userId),
      rotated_at: null,
      revoked_at: null,
      expires_at: mongoose.trusted({ $gt: new Date() }),
    })
      .sort({ last_used_at: -1 })
      .limit(200);
  }

  /** Keeps `last_used_at` of a login current, off the request's path. */
  touch(familyId: string, now = Date.now()): void {
    const last = this.touched.get(familyId);
    if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
    if (this.touched.size > 50_000) for (const [id, at] of this.touched) if (now - at >= LAST_USED_RESOLUTION_MS) this.touched.delete(id);
    this.touched.set(familyId, now);
    this.models.Session.updateOne(
      { family_id: familyId, rotated_at: null, revoked_at: null },
      { $set: { last_used_at: new Date(now) } },
      { timestamps: false },
    ).catch(() => this.touched.delete(familyId));
  }

  /** revokeSession: one of the viewer's own logins (NOT_FOUND for anyone else's or an ended one). */
  async revokeOne(userId: string, familyId: string): Promise<boolean> {
    const ended = await this.end(userId, { familyIds: [familyId] }, "revoked");
    if (ended.length === 0) throw notFound("Session");
    return true;
  }

  /**
   * THE way a login ends: revokes the sessions in scope that are still live and announces it
   * (their sockets close with 4401 on every instance). Returns the ended session ids.
   */
  async end(userId: string, scope: SessionScope, reason: SessionEndReason): Promise<string[]> {
    const user = new Types.ObjectId(userId);
    const filter: Record<string, unknown> = { user_id: user, revoked_at: null };
    if ("familyIds" in scope) filter.family_id = mongoose.trusted({ $in: scope.familyIds.filter((id) => typeof id === "string").slice(0, 100) });
    else if (scope.allExcept) filter.family_id = mongoose.trusted({ $ne: scope.allExcept });
    const ids = (await this.models.Session.distinct("family_id", filter)) as string[];
    if (ids.length === 0) return [];
    await this.models.Session.updateMany({ user_id: user, family_id: mongoose.trusted({ $in: ids }), revoked_at: null }, { $set: { revoked_at: new Date() } });
    this.pubSub.publish("ACCOUNT", userId, { type: "sessions.ended", sessionIds: ids, reason });
    await this.options.onEnded?.(userId, ids, reason);
    return ids;
  }
}

declare module "../../context.js" {
  interface Services {
    sessions: SessionService;
  }
}
