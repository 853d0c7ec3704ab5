/** Conversations part of the contract; roots are ConversationSnapshot objects. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import type { Connection } from "../../common/connection.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { Group } from "../group/group.entity.js";
import { ChatMessage } from "../message/message.types.js";
import type { MessageView } from "../message/message.view.js";
import { ConversationConnection, ConversationType, DirectConversation, GroupConversation } from "./conversation.types.js";
import { type ConversationSnapshot, marksOf, snapshotOf } from "./conversation.view.js";
import { loadUser } from "../user/load-user.js";

function mine(conv: ConversationSnapshot, ctx: Context) {
  return marksOf(conv, ctx.viewer?.id ?? "");
}

/** The fields every conversation has, computed for the viewer from the snapshot. */
const fields = {
  lastMessage(conv: ConversationSnapshot, ctx: Context): Promise<MessageView | null> | null {
    return conv.lastMessageId ? ctx.loaders.message.load(conv.lastMessageId) : null;
  },
  /** Sending moves the sender's own read mark, so everything after it is from others: O(1). */
  unreadCount(conv: ConversationSnapshot, ctx: Context): number {
    const m = mine(conv, ctx);
    return m ? Math.max(0, conv.lastSeq - m.readSeq) : 0;
  },
  readSeq: (conv: ConversationSnapshot, ctx: Context): number => mine(conv, ctx)?.readSeq ?? 0,
  deliveredSeq: (conv: ConversationSnapshot, ctx: Context): number => mine(conv, ctx)?.deliveredSeq ?? 0,
};

/** Fields every conversation has; implementing types inherit these resolvers. */
@Resolver(() => ConversationType)
export class ConversationFieldsResolver {
  @FieldResolver(() => ChatMessage, { nullable: true })
  lastMessage(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<MessageView | null> | null {
    return fields.lastMessage(conv, ctx);
  }

  @FieldResolver(() => Int, { description: "Messages from others after the viewer's read watermark." })
  unreadCount(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    return fields.unreadCount(conv, ctx);
  }

  @FieldResolver(() => Int)
  readSeq(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    return fields.readSeq(conv, ctx);
  }

  @FieldResolver(() => Int)
  deliveredSeq(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): number {
    return fields.deliveredSeq(conv, ctx);
  }

}

@Resolver(() => DirectConversation)
export class DirectConversationResolver {
  @Authorized()
  @Query(() => ConversationConnection, { description: "The viewer's direct and group conversations, most recent activity first." })
  async conversations(
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<ConversationSnapshot>> {
    const conn = await ctx.services.conversations.list(ctx.viewer!.id, { first, after });
    return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: snapshotOf(e.node) })) };
  }

  @Authorized()
  @Query(() => ConversationType, { nullable: true })
  async conversation(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return snapshotOf(await ctx.services.conversations.requireMember(ctx.viewer!.id, id, "id"));
  }

  @Authorized()
  @Query(() => DirectConversation, { nullable: true, description: "The direct conversation with a user, or null when they never exchanged a message." })
  async directConversation(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot | null> {
    const conv = await ctx.services.conversations.findDirect(ctx.viewer!.id, userId);
    return conv && conv.last_seq > 0 ? snapshotOf(conv) : null;
  }

  @FieldResolver(() => User)
  async peer(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    const peer = conv.members.find((m) => m.userId !== ctx.viewer?.id) ?? conv.members[0];
    return loadUser(ctx, peer.userId);
  }
}

@Resolver(() => GroupConversation)
export class GroupConversationResolver {
  @FieldResolver(() => Group)
  async group(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    const group = await ctx.loaders.group.load(conv.id);
    if (!group) throw notFound("Group");
    return group;
  }
}
