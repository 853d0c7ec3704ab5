/**
 * `Conversation.lastMessage`: the field is declared on the interface in conversation/ (which
 * must not import message/); it is resolved here, where messages are loaded. Implementing
 * types inherit it.
 */
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type { MessageView } from "./message.view.js";

@Resolver(() => ConversationType)
export class ConversationLastMessageResolver {
  @FieldResolver(() => ChatMessage, { nullable: true })
  lastMessage(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<MessageView | null> | null {
    return conv.lastMessageId ? ctx.loaders.message.load(conv.lastMessageId) : null;
  }
}
