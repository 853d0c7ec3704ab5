/**
 * Accounts: registration, login, refresh-token rotation and logout. The rules live here; the
 * resolver only passes arguments through.
 */
import { Types, type mongo } from "mongoose";
import type { Config } from "../../config.js";
import type { Models } from "../../database.js";
import { AppError, ErrorCode, conflict, invalidToken, unauthenticated } from "../../errors.js";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../auth/password.js";
import { type TokenService, randomToken, sha256 } from "../../auth/tokens.js";
import type { AuthPayload, DeviceInfoInput, LoginInput, RegisterInput } from "./account.inputs.js";
import type { User } from "../user/user.entity.js";
import type { DocumentType } from "@typegoose/typegoose";

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
  ) {}

  async register(input: RegisterInput): Promise<AuthPayload> {
    const password = await hashPassword(input.password);
    let user: DocumentType<User>;
    try {
      user = await this.models.User.create({
        username: input.username,
        email: input.email.toLowerCase(),
        password,
        full_name: input.fullName ?? null,
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
    return this.startSession(user, null);
  }

  /** Unknown login and wrong password answer the same error after the same work. */
  async login(input: LoginInput): Promise<AuthPayload> {
    const login = input.login.trim();
    const filter = login.includes("@") ? { email: login.toLowerCase() } : { username: login };
    const user = await this.models.User.findOne(filter).collation(CASE_INSENSITIVE);
    const ok = await verifyPassword(user?.password ?? (await dummyPasswordHash()), input.password);
    if (!user || !ok) throw unauthenticated("Invalid login or password");
    if (!user.is_active) throw new AppError(ErrorCode.FORBIDDEN, "This account is deactivated");
    await this.models.User.updateOne({ _id: user._id }, { $set: { last_seen: new Date() } });
    return this.startSession(user, input.device ?? null);
  }

  /** Rotates a refresh token; a token already rotated revokes its whole family. */
  async refresh(refreshToken: string): Promise<AuthPayload> {
    const now = new Date();
    const session = await this.models.Session.findOne({ token_hash: sha256(refreshToken) });
    if (!session || session.revoked_at || session.expires_at <= now) throw invalidToken("The refresh token is invalid or expired");
    // Atomically claim the rotation: only one concurrent refresh with the same token wins.
    const claimed = await this.models.Session.findOneAndUpdate(
      { _id: session._id, rotated_at: null, revoked_at: null },
      { $set: { rotated_at: now } },
    );
    if (!claimed) {
      await this.models.Session.updateMany({ family_id: session.family_id, revoked_at: null }, { $set: { revoked_at: now } });
      throw invalidToken("The refresh token was already used; every session of this login has been revoked");
    }
    const user = await this.models.User.findById(session.user_id);
    if (!user || !user.is_active) throw invalidToken("The account is no longer active");
    return this.issue(user, session.family_id, session.device);
  }

  async logout(userId: string, sessionId: string, allSessions: boolean): Promise<boolean> {
    const filter = allSessions ? { user_id: new Types.ObjectId(userId) } : { family_id: sessionId };
    await this.models.Session.updateMany({ ...filter, revoked_at: null }, { $set: { revoked_at: new Date() } });
    return true;
  }

  /** True while the session family of an access token has not been revoked. */
  async isSessionActive(sessionId: string): Promise<boolean> {
    return (await this.models.Session.exists({ family_id: sessionId, revoked_at: null })) !== null;
  }

  private startSession(user: DocumentType<User>, device: DeviceInfoInput | null): Promise<AuthPayload> {
    const device_ = device ? Object.fromEntries(Object.entries({ ...device }).filter(([, v]) => typeof v === "string")) : null;
    return this.issue(user, new Types.ObjectId().toHexString(), device_ as Record<string, string> | null);
  }

  private async issue(user: DocumentType<User>, familyId: string, device: Record<string, string> | null): Promise<AuthPayload> {
    const refreshToken = randomToken();
    await this.models.Session.create({
      user_id: user._id,
      family_id: familyId,
      token_hash: sha256(refreshToken),
      expires_at: new Date(Date.now() + this.config.refreshTokenTtlSeconds * 1000),
      device,
    });
    const access = await this.tokens.issueAccess({ userId: user._id.toHexString(), sessionId: familyId });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, user, sessionId: familyId };
  }
}
