/**
 * The security log. `record` never fails the request that triggers it: a failed write is
 * logged (once, here) and swallowed, because refusing a login or a password change for want
 * of a log line would be worse than the missing line.
 */
import { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import type { DocumentType } from "@typegoose/typegoose";
import type { SecurityEvent, SecurityEventType } from "./security-event.entity.js";

export interface SecurityEventInput {
  type: SecurityEventType;
  /** The account the event is about; null: nobody's (e.g. a failed login naming no account). */
  userId: string | Types.ObjectId | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

export class AuditService {
  constructor(
    private readonly models: Models,
    private readonly retentionDays: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  async record(event: SecurityEventInput): Promise<void> {
    try {
      await this.models.SecurityEvent.create({
        user_id: event.userId === null ? null : new Types.ObjectId(event.userId),
        type: event.type,
        ip: event.ip ?? null,
        details: event.details ?? null,
        expires_at: new Date(Date.now() + this.retentionDays * 24 * 3600 * 1000),
      });
    } catch (err) {
      this.onError(err);
    }
  }

  /** The viewer's own events, newest first. */
  list(viewerId: string, page: PageArgs): Promise<Connection<DocumentType<SecurityEvent>>> {
    return paginate(this.models.SecurityEvent, { user_id: new Types.ObjectId(viewerId) }, [["created_at", -1]], page, 20) as Promise<
      Connection<DocumentType<SecurityEvent>>
    >;
  }
}

declare module "../../context.js" {
  interface Services {
    audit: AuditService;
  }
}
