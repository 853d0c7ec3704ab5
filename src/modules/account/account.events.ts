/** What the account feature publishes: the end of logins, for the WebSocket layer. */

/** Why logins ended (for the WebSocket close reason and the security log). */
export type SessionEndReason = "logout" | "password_changed" | "password_reset" | "refresh_reuse" | "account_deactivated" | "revoked";

/** Per-user events about the account's logins and connections. */
export type AccountEvent =
  /** These logins ended: their sockets close with 4401 on every instance. */
  { type: "sessions.ended"; sessionIds: string[]; reason: SessionEndReason };

export type AccountTopics = {
  ACCOUNT: [userId: string, event: AccountEvent];
};
