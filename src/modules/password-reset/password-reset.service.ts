/**
 * Password reset: a 32-byte random token goes out by mail, its SHA-256 is stored with a 1 h
 * expiry; it works once. Asking always answers true, whether or not the email is known. Only
 * the newest token works: a new request, a password change or a reset voids every older one
 * (a leaked old mail is worth nothing).
 */
import type { Config } from "../../config.js";
import type { Models } from "../../common/database.js";
import { invalidToken } from "../../errors.js";
import { randomToken, sha256 } from "../../auth/tokens.js";
import type { Mailer } from "../../mail/mailer.js";
import type { AccountService } from "../account/account.service.js";
import { RESET_PER_ACCOUNT, RESET_PER_IP, type RateLimiter } from "../../auth/rate-limiter.js";
import type { AuditService } from "../audit/audit.service.js";
import { SecurityEventType } from "../audit/security-event.entity.js";

export class PasswordResetService {
  constructor(
    private readonly models: Models,
    private readonly accounts: AccountService,
    private readonly mailer: Mailer,
    private readonly config: Config,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditService,
  ) {}

  async request(email: string, ip: string): Promise<boolean> {
    await this.limiter.hit(`reset:ip:${ip}`, RESET_PER_IP);
    await this.limiter.hit(`reset:account:${email.trim().toLowerCase()}`, RESET_PER_ACCOUNT);
    const user = await this.models.User.findOne({ email: email.trim().toLowerCase() }).collation({ locale: "en", strength: 2 });
    if (!user || !user.is_active) return true;
    const token = randomToken();
    await this.models.PasswordReset.updateMany({ user_id: user._id, used: false }, { $set: { used: true } });
    await this.models.PasswordReset.create({
      user_id: user._id,
      token: sha256(token),
      expiry: new Date(Date.now() + this.config.passwordResetTtlSeconds * 1000),
      used: false,
    });
    const base = this.config.publicUrl ?? `http://localhost:${this.config.port}`;
    await this.mailer.send({
      to: user.email,
      subject: "Reset your LetsApp password",
      text: `Use this link within ${Math.round(this.config.passwordResetTtlSeconds / 60)} minutes to choose a new password:\n${base}/reset-password?token=${token}\n\nIf you did not ask for this, ignore this message.`,
    });
    await this.audit.record({ type: SecurityEventType.PASSWORD_RESET_REQUESTED, userId: user._id, ip });
    return true;
  }

  /** Checks the new password first, then claims the token atomically, so a refusal leaves it usable. */
  async reset(token: string, newPassword: string, ip: string | null = null): Promise<boolean> {
    const hash = sha256(token);
    const found = await this.models.PasswordReset.findOne({ token: hash, used: false });
    if (!found || found.expiry <= new Date()) throw invalidToken();
    await this.accounts.checkNewPassword(found.user_id.toHexString(), newPassword);
    const claimed = await this.models.PasswordReset.findOneAndUpdate({ _id: found._id, used: false }, { $set: { used: true } });
    if (!claimed) throw invalidToken();
    await this.accounts.replacePassword(found.user_id.toHexString(), newPassword);
    await this.audit.record({ type: SecurityEventType.PASSWORD_RESET, userId: found.user_id, ip });
    return true;
  }
}

declare module "../../context.js" {
  interface Services {
    passwordResets: PasswordResetService;
  }
}
