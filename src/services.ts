/** The application's services, created once per server around one database. */
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import { TokenService } from "./auth/tokens.js";
import { AccountService } from "./modules/account/account.service.js";
import { UserService } from "./modules/user/user.service.js";

export interface AppServices {
  config: Config;
  db: Database;
  tokens: TokenService;
  accounts: AccountService;
  users: UserService;
}

export function createServices(config: Config, db: Database): AppServices {
  const tokens = new TokenService(config.jwtSecret, config.accessTokenTtlSeconds);
  return {
    config,
    db,
    tokens,
    accounts: new AccountService(db.models, tokens, config),
    users: new UserService(db.models),
  };
}
