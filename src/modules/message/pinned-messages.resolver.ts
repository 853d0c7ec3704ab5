/**
 * Message pins: `pinMessage` / `unpinMessage` (rules in message-pin.service.ts) and
 * `Conversation.pinnedMessages`, declared on the interface in conversation/ (which must not
 * import message/) and resolved here through the message loader: one batched read per request
 * or per live event, shared by every subscriber of that event.
 */
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type { MessageView } from "./message.view.js";

@Resolver(() => ConversationType)
export class PinnedMessagesResolver {
  @Authorized()
  @Mutation(() => ConversationType, {
    description: "Pins a message in its conversation: any member of a direct conversation, admins in groups; at most 50 per conversation.",
  })
  pinMessage(@Arg("messageId", () => ID) messageId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.messagePins.pin(viewerId, messageId);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Unpins a message (the same rights as pinMessage)." })
  unpinMessage(@Arg("messageId", () => ID) messageId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.messagePins.unpin(viewerId, messageId);
  }

  @FieldResolver(() => [ChatMessage])
  async pinnedMessages(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<MessageView[]> {
    const ids = (conv.pins ?? []).map((p) => p.messageId).reverse();
    if (ids.length === 0) return [];
    const loaded = await ctx.loaders.message.loadMany(ids);
    return loaded.filter((m): m is MessageView => m !== null && !(m instanceof Error) && !m.isDeleted);
  }
}
