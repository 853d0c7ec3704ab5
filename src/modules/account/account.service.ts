/**
 * Accounts: registration, login, refresh-token rotation and logout. The rules live here; the
 * resolver only passes arguments through.
 */
import { Types, type mongo } from "mongoose";
import type { Config } from "../../config.js";
import type { Models } from "../../common/database.js";
import { asEntity, type Entity } from "../../common/lean.js";
import { AppError, ErrorCode, badInput, conflict, invalidToken, notFound, unauthenticated } from "../../errors.js";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../auth/password.js";
import { type TokenService, randomToken, sha256 } from "../../auth/tokens.js";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { AuditService } from "../audit/audit.service.js";
import { SecurityEventType } from "../audit/security-event.entity.js";
import type { MediaService } from "../media/media.service.js";
import { type LoginInput, type RegisterInput, type UpdateProfileInput, type UpdateSettingsInput } from "./account.input.js";
import type { AuthPayload } from "./account.type.js";
import type { DeviceInfoInput } from "../presence/presence.input.js";
import { type User, searchKeys } from "../user/user.entity.js";
import type { DocumentType } from "@typegoose/typegoose";
import type { Session } from "./session.entity.js";
import type { LoginOrigin, SessionService } from "./session.service.js";

const CASE_INSENSITIVE = { locale: "en", strength: 2 };

/** Which input field a duplicate key error is about. */
const CONFLICT_FIELDS: Record<string, string> = { username: "username", email: "email", phone_number: "phoneNumber" };

function isDuplicateKey(err: unknown): err is mongo.MongoServerError & { keyPattern?: Record<string, unknown> } {
  return (err as { code?: number })?.code === 11000;
}

export class AccountService {
  constructor(
    private readonly models: Models,
    private readonly tokens: TokenService,
    private readonly config: Config,
    private readonly guard: AbuseGuard,
    private readonly media: MediaService,
    /** Every session write and every end of a login goes through it. */
    readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {}

  async register(input: RegisterInput, origin: LoginOrigin = {}): Promise<AuthPayload> {
    await this.guard.register(origin.ip ?? "unknown");
    const password = await hashPassword(input.password);
    let user: DocumentType<User>;
    try {
      user = await this.models.User.create({
        username: input.username,
        email: input.email.toLowerCase(),
        password,
        full_name: input.fullName ?? null,
        search_keys: searchKeys(input.username, input.fullName),
        ...(input.phoneNumber ? { phone_number: input.phoneNumber } : {}),
        last_password_change: new Date(),
      });
    } catch (err) {
      if (isDuplicateKey(err)) {
        const key = Object.keys(err.keyPattern ?? {})[0] ?? "username";
        const field = CONFLICT_FIELDS[key] ?? key;
        throw conflict(field, `${field} is already taken`);
      }
      throw err;
    }
    return this.startSession(user, origin);
  }

  /**
   * Unknown login and wrong password answer the same error after the same work. Throttled per
   * account and IP (see LoginThrottle): the account is the user found, so the username and
   * the email share one budget; a login naming nobody is counted under what was typed.
   */
  async login(input: LoginInput, ip: string, userAgent: string | null = null): Promise<AuthPayload> {
    const login = input.login.trim();
    const filter = login.includes("@") ? { email: login.toLowerCase() } : { username: login };
    // A plain object: login only reads the user (common/lean.ts); logins run at hashing speed, so every ms counts.
    const user = asEntity(this.models.User, await this.models.User.findOne(filter).collation(CASE_INSENSITIVE).lean());
    const account = user ? `u:${user._id.toHexString()}` : `n:${login.toLowerCase()}`;
    await this.guard.login.check(account, ip);
    const ok = await verifyPassword(user?.password ?? (await dummyPasswordHash()), input.password);
    if (!user || !ok) {
      await this.guard.login.failed(account, ip);
      // A login naming no account is logged for operators but is nobody's to read.
      await this.audit.record({ type: SecurityEventType.LOGIN_FAILED, userId: user?._id ?? null, ip, details: user ? null : { login: login.slice(0, 100) } });
      throw unauthenticated("Invalid login or password");
    }
    if (!user.is_active) throw new AppError(ErrorCode.FORBIDDEN, "This account is deactivated");
    await this.guard.login.succeeded(account, ip);
    await this.models.User.updateOne({ _id: user._id }, { $set: { last_seen: new Date() } });
    const payload = await this.startSession(user, { device: input.device ?? null, ip, userAgent });
    await this.audit.record({ type: SecurityEventType.LOGIN_SUCCEEDED, userId: user._id, ip, details: { sessionId: payload.sessionId } });
    return payload;
  }

  /** Rotates a refresh token; a token already rotated revokes its whole family. */
  async refresh(refreshToken: string): Promise<AuthPayload> {
    const now = new Date();
    const session = await this.models.Session.findOne({ token_hash: sha256(refreshToken) });
    if (!session || session.revoked_at || session.expires_at <= now) throw invalidToken("The refresh token is invalid or expired");
    // Atomically claim the rotation: only one concurrent refresh with the same token wins.
    const claimed = await this.models.Session.findOneAndUpdate({ _id: session._id, rotated_at: null, revoked_at: null }, { $set: { rotated_at: now } });
    if (!claimed) {
      await this.sessions.end(session.user_id.toHexString(), { familyIds: [session.family_id] }, "refresh_reuse");
      throw invalidToken("The refresh token was already used; every session of this login has been revoked");
    }
    const user = await this.models.User.findById(session.user_id);
    if (!user || !user.is_active) throw invalidToken("The account is no longer active");
    return this.issue(user, session.family_id, {}, session);
  }

  async logout(userId: string, sessionId: string, allSessions: boolean, ip: string | null = null): Promise<boolean> {
    await this.sessions.end(userId, allSessions ? { allExcept: null } : { familyIds: [sessionId] }, "logout");
    await this.audit.record({ type: SecurityEventType.SESSION_REVOKED, userId, ip, details: allSessions ? { allSessions: true } : { sessionId } });
    return true;
  }

  /**
   * Rejects the current password and the last five (PASSWORD_REUSED); keeps the previous hash
   * in `password_history` (at most 5, as seed 004 says) and revokes every other session.
   */
  async changePassword(userId: string, sessionId: string, currentPassword: string, newPassword: string, ip: string | null = null): Promise<boolean> {
    const user = await this.requireUser(userId);
    if (!(await verifyPassword(user.password, currentPassword))) {
      throw badInput([{ field: "currentPassword", message: "currentPassword is incorrect" }]);
    }
    await this.assertNewPassword(user, newPassword);
    await this.setPassword(user, newPassword);
    await this.sessions.end(userId, { allExcept: sessionId }, "password_changed");
    await this.audit.record({ type: SecurityEventType.PASSWORD_CHANGED, userId, ip });
    return true;
  }

  async updateProfile(userId: string, input: UpdateProfileInput): Promise<DocumentType<User>> {
    const set: Record<string, unknown> = {};
    const unset: Record<string, 1> = {};
    if (input.fullName !== undefined) {
      set.full_name = input.fullName;
      const current = await this.requireUser(userId);
      set.search_keys = searchKeys(current.username, input.fullName);
    }
    if (input.bio !== undefined) set.bio = input.bio ?? "";
    if (input.phoneNumber !== undefined) {
      if (input.phoneNumber === null) unset.phone_number = 1;
      else set.phone_number = input.phoneNumber;
    }
    if (input.profilePictureId !== undefined) {
      set.profile_picture =
        input.profilePictureId === null ? null : (await this.media.ownImage(userId, input.profilePictureId, "profilePictureId"))._id.toHexString();
    }
    try {
      const user = await this.models.User.findOneAndUpdate(
        { _id: new Types.ObjectId(userId), is_active: true },
        { ...(Object.keys(set).length ? { $set: set } : {}), ...(Object.keys(unset).length ? { $unset: unset } : {}) },
        { returnDocument: "after" },
      );
      if (!user) throw notFound("User");
      return user;
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict("phoneNumber", "phoneNumber is already taken");
      throw err;
    }
  }

  async updateSettings(userId: string, input: UpdateSettingsInput): Promise<DocumentType<User>> {
    const set: Record<string, boolean | string> = {};
    if (typeof input.notificationsEnabled === "boolean") set["settings.notifications_enabled"] = input.notificationsEnabled;
    if (typeof input.readReceiptsEnabled === "boolean") set["settings.read_receipts_enabled"] = input.readReceiptsEnabled;
    if (typeof input.typingIndicatorsEnabled === "boolean") set["settings.typing_indicators_enabled"] = input.typingIndicatorsEnabled;
    // Privacy (enum values, checked by GraphQL): see user/privacy.ts.
    if (input.phoneNumberVisibility) set["settings.phone_number_visibility"] = input.phoneNumberVisibility;
    if (input.lastSeenVisibility) set["settings.last_seen_visibility"] = input.lastSeenVisibility;
    if (input.profilePictureVisibility) set["settings.profile_picture_visibility"] = input.profilePictureVisibility;
    if (input.groupAddPolicy) set["settings.group_add_policy"] = input.groupAddPolicy;
    const user = await this.models.User.findOneAndUpdate({ _id: new Types.ObjectId(userId) }, { $set: set }, { returnDocument: "after" });
    if (!user) throw notFound("User");
    return user;
  }

  /** Sets is_active false and revokes every session: the user can no longer log in. */
  async deactivate(userId: string, password: string, ip: string | null = null): Promise<boolean> {
    const user = await this.requireUser(userId);
    if (!(await verifyPassword(user.password, password))) throw badInput([{ field: "password", message: "password is incorrect" }]);
    await this.models.User.updateOne({ _id: user._id }, { $set: { is_active: false } });
    await this.sessions.end(userId, { allExcept: null }, "account_deactivated");
    await this.audit.record({ type: SecurityEventType.ACCOUNT_DEACTIVATED, userId, ip });
    return true;
  }

  /** The new-password rules (length, not current or last 5) for a user, without changing anything. */
  async checkNewPassword(userId: string, newPassword: string): Promise<void> {
    await this.assertNewPassword(await this.requireUser(userId), newPassword);
  }

  /** Sets a new password (reset flow) and revokes every session of the user. */
  async replacePassword(userId: string, newPassword: string): Promise<void> {
    const user = await this.requireUser(userId);
    await this.setPassword(user, newPassword);
    await this.sessions.end(userId, { allExcept: null }, "password_reset");
  }

  private async requireUser(userId: string): Promise<DocumentType<User>> {
    const user = await this.models.User.findById(userId);
    if (!user || !user.is_active) throw notFound("User");
    return user;
  }

  private async assertNewPassword(user: DocumentType<User>, newPassword: string): Promise<void> {
    for (const hash of [user.password, ...user.password_history]) {
      if (await verifyPassword(hash, newPassword)) {
        throw new AppError(ErrorCode.PASSWORD_REUSED, "The new password equals the current one or one of the last 5");
      }
    }
  }

  /** Every password change (including a reset) also voids every reset token still unused. */
  private async setPassword(user: DocumentType<User>, newPassword: string): Promise<void> {
    await this.models.PasswordReset.updateMany({ user_id: user._id, used: false }, { $set: { used: true } });
    await this.models.User.updateOne(
      { _id: user._id },
      {
        $set: { password: await hashPassword(newPassword), last_password_change: new Date() },
        $push: { password_history: { $each: [user.password], $slice: -5 } },
      },
    );
  }

  /** True while the session family of an access token has not been revoked or run out. */
  isSessionActive(sessionId: string): Promise<boolean> {
    return this.sessions.isActive(sessionId);
  }

  private startSession(user: Entity<User>, origin: Omit<LoginOrigin, "device"> & { device?: DeviceInfoInput | null }): Promise<AuthPayload> {
    const device = origin.device ? Object.fromEntries(Object.entries({ ...origin.device }).filter(([, v]) => typeof v === "string")) : null;
    return this.issue(user, new Types.ObjectId().toHexString(), { ...origin, device: device as Record<string, string> | null }, null);
  }

  private async issue(user: Entity<User>, familyId: string, origin: LoginOrigin, previous: Session | null): Promise<AuthPayload> {
    const refreshToken = randomToken();
    const stored = await this.sessions.store(user._id, familyId, sha256(refreshToken), origin, previous);
    // No access token outlives its login's hard end.
    const access = await this.tokens.issueAccess({ userId: user._id.toHexString(), sessionId: familyId }, stored.absolute_expires_at);
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, user, sessionId: familyId };
  }
}

declare module "../../context.js" {
  interface Services {
    accounts: AccountService;
  }
}
