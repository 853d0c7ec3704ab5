/** The application's services, created once per server around one database. */
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import { TokenService } from "./auth/tokens.js";
import { AccountService } from "./modules/account/account.service.js";
import { UserService } from "./modules/user/user.service.js";
import { ContactService } from "./modules/contact/contact.service.js";
import { MediaService } from "./modules/media/media.service.js";
import { UrlSigner } from "./common/signed-url.js";
import { PasswordResetService } from "./modules/password-reset/password-reset.service.js";
import type { Mailer } from "./mail/mailer.js";
import { MemoryRateLimiter, type RateLimiter } from "./auth/rate-limiter.js";

export interface AppServices {
  config: Config;
  db: Database;
  tokens: TokenService;
  accounts: AccountService;
  users: UserService;
  contacts: ContactService;
  media: MediaService;
  passwordResets: PasswordResetService;
  mailer: Mailer;
  rateLimiter: RateLimiter;
}

export function createServices(config: Config, db: Database, mailer: Mailer): AppServices {
  const tokens = new TokenService(config.jwtSecret, config.accessTokenTtlSeconds);
  const rateLimiter = new MemoryRateLimiter();
  const media = new MediaService(db.models, new UrlSigner(config.jwtSecret, config.downloadUrlTtlSeconds, config.publicUrl ?? ""));
  const accounts = new AccountService(db.models, tokens, config, rateLimiter, media);
  return {
    config,
    db,
    tokens,
    accounts,
    users: new UserService(db.models),
    contacts: new ContactService(db.models),
    media,
    passwordResets: new PasswordResetService(db.models, accounts, mailer, config, rateLimiter),
    mailer,
    rateLimiter,
  };
}
