/** The viewer's security log; thin: AuditService decides what is theirs. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { ConnectionType, type Connection } from "../../common/connection.js";
import { SecurityEvent } from "./security-event.entity.js";

export const SecurityEventConnection = ConnectionType("SecurityEvent", () => SecurityEvent);

@Resolver(() => SecurityEvent)
export class AuditResolver {
  @Authorized()
  @Query(() => SecurityEventConnection, { description: "The viewer's security log (logins, password changes, revocations, group admin actions), newest first; kept AUDIT_RETENTION_DAYS." })
  securityEvents(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("last", () => Int, { nullable: true }) last: number | null,
    @Arg("before", () => String, { nullable: true }) before: string | null,
  ): Promise<Connection<DocumentType<SecurityEvent>>> {
    return ctx.services.audit.list(ctx.viewer!.id, { first, after, last, before });
  }
}
