/**
 * Conversations part of the contract; roots are ConversationSnapshot objects. `lastMessage`
 * is resolved in message/ and `GroupConversation.group` in group/ (features above this one).
 */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import type { Connection } from "../../common/connection.js";
import { ForwardPage, type ForwardPageArgs } from "../../common/page.args.js";
import { ViewerId } from "../../auth/current-user.js";
import { User } from "../user/user.entity.js";
import { ConversationConnection, ConversationType, DirectConversation } from "./conversation.type.js";
import { type ConversationSnapshot, marksOf, snapshotOf } from "./conversation.view.js";
import { loadUser } from "../user/load-user.js";
import type { Entity } from "../../common/lean.js";

/**
 * Paging argument classes, made when this module loads: type-graphql builds the schema from a
 * copy of its metadata, so an @ArgsType class first made inside an `@Args` thunk is missing.
 */
const Page20 = ForwardPage(20);

function mine(conv: ConversationSnapshot, ctx: Context) {
  return marksOf(conv, ctx.viewer?.id ?? "");
}

/** The viewer's watermarks; implementing types inherit these resolvers. */
@Resolver(() => ConversationType)
export class ConversationFieldsResolver {
  /** Sending moves the sender's own read mark, so everything after it is from others: O(1). */
  @FieldResolver(() => Int, { description: "Messages from others after the viewer's read watermark." })
  unreadCount(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    const m = mine(conv, ctx);
    return m ? Math.max(0, conv.lastSeq - m.readSeq) : 0;
  }

  @FieldResolver(() => Int)
  readSeq(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    return mine(conv, ctx)?.readSeq ?? 0;
  }

  @FieldResolver(() => Int)
  deliveredSeq(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    return mine(conv, ctx)?.deliveredSeq ?? 0;
  }
}

@Resolver(() => DirectConversation)
export class DirectConversationResolver {
  @Authorized()
  @Query(() => ConversationConnection, {
    description: "The viewer's direct and group conversations: pinned ones first, then by most recent activity. Archived ones only with `archived: true`.",
  })
  async conversations(
    @Args(() => Page20) page: ForwardPageArgs,
    @Arg("archived", () => Boolean, { defaultValue: false, description: "List the archived conversations instead of the others." }) archived: boolean,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<Connection<ConversationSnapshot>> {
    const conn = await ctx.services.conversations.list(viewerId, page, { archived });
    return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: snapshotOf(e.node) })) };
  }

  @Authorized()
  @Query(() => ConversationType, { nullable: true })
  async conversation(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return snapshotOf(await ctx.services.conversations.requireMember(viewerId, id, "id"));
  }

  @Authorized()
  @Query(() => DirectConversation, { nullable: true, description: "The direct conversation with a user, or null when they never exchanged a message." })
  async directConversation(@Arg("userId", () => ID) userId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot | null> {
    const conv = await ctx.services.conversations.findDirect(viewerId, userId);
    return conv && conv.last_seq > 0 ? snapshotOf(conv) : null;
  }

  @FieldResolver(() => User)
  async peer(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<Entity<User>> {
    const peer = conv.members.find((m) => m.userId !== ctx.viewer?.id) ?? conv.members[0];
    return loadUser(ctx, peer.userId);
  }
}
