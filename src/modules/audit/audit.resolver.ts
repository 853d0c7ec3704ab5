/** The viewer's security log; thin: AuditService decides what is theirs. */
import type { DocumentType } from "@typegoose/typegoose";
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import type { Connection, PageArgs } from "../../common/connection.js";
import { Page } from "../../common/page.args.js";
import { ViewerId } from "../../auth/current-user.js";
import { SecurityEvent } from "./security-event.entity.js";
import { SecurityEventConnection } from "./security-event.type.js";

/** Made at load time: type-graphql must see an @ArgsType class before it builds the schema. */
const SecurityEventsPage = Page();

@Resolver(() => SecurityEvent)
export class AuditResolver {
  @Authorized()
  @Query(() => SecurityEventConnection, {
    description: "The viewer's security log (logins, password changes, revocations, group admin actions), newest first; kept AUDIT_RETENTION_DAYS.",
  })
  securityEvents(
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
    @Args(() => SecurityEventsPage) page: PageArgs,
  ): Promise<Connection<DocumentType<SecurityEvent>>> {
    return ctx.services.audit.list(viewerId, page);
  }
}
