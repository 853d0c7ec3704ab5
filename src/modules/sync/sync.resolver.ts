/** `changes(since)`: one-round-trip catch-up (rules in sync.service.ts). */
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { Changes } from "./sync.type.js";
import { ChangesArgs } from "./sync.args.js";
import type { ChangesView } from "./sync.service.js";

@Resolver(() => Changes)
export class SyncResolver {
  @Authorized()
  @Query(() => Changes, {
    description:
      "Everything that changed for the viewer since the cursor, across all conversations: new messages (up to limitPerConversation, then hasMore), edits, deletions, reactions, hides, receipts, membership, conversation state, contacts and blocks — and the next cursor. since: null gives the current state.",
  })
  changes(@Args(() => ChangesArgs) { since, limitPerConversation }: ChangesArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ChangesView> {
    return ctx.services.sync.changes(viewerId, since, limitPerConversation);
  }
}
