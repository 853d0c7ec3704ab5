/**
 * `ChatMessage.mentions` (the users, through the user loader) and
 * `Conversation.unreadMentionCount` (through the viewer's batched count, mention.service.ts);
 * both fields are declared on the interfaces in conversation/, and implementing types inherit
 * these resolvers.
 */
import { Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import { User } from "../user/user.entity.js";
import type { MessageView } from "./message.view.js";
import type { Entity } from "../../common/lean.js";

@Resolver(() => ChatMessage)
export class MessageMentionsResolver {
  @FieldResolver(() => [User])
  async mentions(@Root() view: MessageView, @Ctx() ctx: Context): Promise<Array<Entity<User>>> {
    if (!view.mentionIds.length) return [];
    const users = await ctx.loaders.user.loadMany(view.mentionIds);
    return users.filter((u): u is Entity<User> => Boolean(u) && !(u instanceof Error));
  }
}

@Resolver(() => ConversationType)
export class UnreadMentionsResolver {
  @FieldResolver(() => Int)
  unreadMentionCount(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<number> {
    return ctx.loaders.unreadMentions.load(conv);
  }
}
