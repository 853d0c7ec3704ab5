/**
 * Reactions and replies (issue 15): `addReaction` / `removeReaction` (rules in
 * reaction.service.ts), `ChatMessage.replyTo` and the fields of MessageReaction and
 * QuotedMessage. The types are declared in conversation/ (beside the ChatMessage interface);
 * the interface's field resolvers here are inherited by Message and GroupMessage.
 */
import { Args, Authorized, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { MessageReaction, QuotedMessage } from "../conversation/message-reaction.type.js";
import { User } from "../user/user.entity.js";
import { loadUser } from "../user/load-user.js";
import { ReactionArgs } from "./reaction.args.js";
import { MAX_DISTINCT_REACTIONS } from "./reaction.service.js";
import type { MessageView } from "./message.view.js";
import type { Entity } from "../../common/lean.js";

/** Users shown per emoji (MessageReaction.users). */
const FIRST_USERS = 3;

/** Characters of the quoted content shown in a reply. */
export const QUOTE_LENGTH = 200;

type ReactionView = MessageView["reactions"][number];

interface QuoteView {
  id: string;
  senderId: string;
  messageType: string;
  content: string | null;
  isDeleted: boolean;
}

@Resolver(() => ChatMessage)
export class ReactionsResolver {
  @Authorized()
  @Mutation(() => ChatMessage, {
    description: `Reacts to a message the viewer can read; adding the same emoji again changes nothing. At most ${MAX_DISTINCT_REACTIONS} different emoji per message. Rate limited.`,
  })
  addReaction(@Args(() => ReactionArgs) { messageId, emoji }: ReactionArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.reactions.add(viewerId, messageId, emoji);
  }

  @Authorized()
  @Mutation(() => ChatMessage, { description: "Takes the viewer's reaction back; removing one that is not there changes nothing. Rate limited." })
  removeReaction(@Args(() => ReactionArgs) { messageId, emoji }: ReactionArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.reactions.remove(viewerId, messageId, emoji);
  }

  /** Through the message loader: one batched read per request, or per live event for all its subscribers. */
  @FieldResolver(() => QuotedMessage, { nullable: true })
  async replyTo(@Root() view: MessageView, @Ctx() ctx: Context): Promise<QuoteView | null> {
    if (!view.replyToId) return null;
    const quoted = await ctx.loaders.message.load(view.replyToId);
    if (!quoted) return null;
    return {
      id: quoted.id,
      senderId: quoted.senderId,
      messageType: quoted.messageType,
      // Code points, not UTF-16 units: an emoji at the cut is not split in half.
      content: quoted.isDeleted || quoted.content === null ? null : [...quoted.content].slice(0, QUOTE_LENGTH).join(""),
      isDeleted: quoted.isDeleted,
    };
  }
}

@Resolver(() => MessageReaction)
export class MessageReactionResolver {
  /** From the ids the view (or the event) carries: no read, per subscriber. */
  @FieldResolver(() => Boolean)
  viewerReacted(@Root() reaction: ReactionView, @Ctx() ctx: Context): boolean {
    return ctx.viewer ? reaction.userIds.includes(ctx.viewer.id) : false;
  }

  @FieldResolver(() => [User])
  async users(@Root() reaction: ReactionView, @Ctx() ctx: Context): Promise<Array<Entity<User>>> {
    const users = await ctx.loaders.user.loadMany(reaction.userIds.slice(0, FIRST_USERS));
    return users.filter((u): u is Entity<User> => Boolean(u) && !(u instanceof Error));
  }
}

@Resolver(() => QuotedMessage)
export class QuotedMessageResolver {
  @FieldResolver(() => User)
  sender(@Root() quote: QuoteView, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, quote.senderId);
  }
}
