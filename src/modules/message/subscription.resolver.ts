/**
 * Subscriptions of the messaging part: messageAdded (with replay), messageUpdated,
 * receiptUpdated, typing and conversationUpdated. Membership is checked when subscribing
 * (FORBIDDEN). Each event is resolved with loaders made for that event (shared by all its
 * subscribers in this instance, primed with what the event carries; see
 * subscriptions/shared-execution.ts), never a loader kept from the start of the connection.
 */
import { Args, Ctx, FieldResolver, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { Context } from "../../context.js";
import { viewerIdOf } from "../../auth/current-user.js";
import type { StreamError } from "../../subscriptions/stream-error.js";
import type { ConversationEvent, ReceiptEvent, TypingEventPayload } from "../conversation/conversation.events.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type { UserEvent } from "../user/user.events.js";
import { User } from "../user/user.entity.js";
import { loadUser } from "../user/load-user.js";
import { ReceiptUpdate, TypingEvent } from "./message.type.js";
import type { MessageView } from "./message.view.js";
import { ConversationFilterArgs, MessageAddedArgs, TypingArgs } from "./message.args.js";
import { only, type StreamOptions } from "./streams.js";
import type { Entity } from "../../common/lean.js";

type SubscribeData<A> = SubscribeResolverData<unknown, A, Context>;

/**
 * The events of one conversation (membership checked; ends with FORBIDDEN when the viewer
 * loses it) or of all the viewer's conversations (a lost one is dropped).
 */
async function scoped(
  ctx: Context,
  conversationId: string | null | undefined,
  options: StreamOptions = {},
): Promise<AsyncIterable<ConversationEvent | UserEvent | StreamError>> {
  const viewer = viewerIdOf(ctx);
  if (!conversationId) return ctx.services.streams.viewerEvents(viewer, options);
  const conv = await ctx.services.conversations.requireMemberLight(viewer, conversationId);
  return ctx.services.streams.conversationEvents(viewer, conv, options);
}

@Resolver()
export class MessagingSubscriptionResolver {
  @Subscription(() => ChatMessage, {
    description:
      "New messages in all the viewer's conversations, or in one. With conversationId and afterSeq it first replays every message with a greater seq, in order, then continues live: no gap, no duplicate.",
    subscribe: async ({ args, context }: SubscribeData<MessageAddedArgs>) => {
      const viewer = viewerIdOf(context);
      if (args.conversationId) {
        const conv = await context.services.conversations.requireMemberLight(viewer, args.conversationId);
        return context.services.streams.messagesWithReplay(conv, viewer, args.afterSeq ?? null);
      }
      return only(context.services.streams.viewerEvents(viewer), (ev) => (ev.type === "message.added" ? ev : null));
    },
  })
  messageAdded(@Root() event: Extract<ConversationEvent, { type: "message.added" }>, @Args(() => MessageAddedArgs) _args: MessageAddedArgs): MessageView {
    return event.message;
  }

  @Subscription(() => ChatMessage, {
    description: "Edits, deletions and status changes of messages in the viewer's conversations.",
    subscribe: async ({ args, context }: SubscribeData<ConversationFilterArgs>) =>
      only(await scoped(context, args.conversationId), (ev) => (ev.type === "message.updated" ? ev : null)),
  })
  messageUpdated(
    @Root() event: Extract<ConversationEvent, { type: "message.updated" }>,
    @Args(() => ConversationFilterArgs) _args: ConversationFilterArgs,
  ): MessageView {
    return event.message;
  }

  @Subscription(() => ReceiptUpdate, {
    description: "Someone's delivered/read watermark moved. Not sent for users who disabled read receipts (read part).",
    subscribe: async ({ args, context }: SubscribeData<ConversationFilterArgs>) => {
      const viewer = viewerIdOf(context);
      return only(await scoped(context, args.conversationId, { hideBlockers: true }), (ev) =>
        ev.type === "receipt" && ev.receipt.userId !== viewer ? ev : null,
      );
    },
  })
  receiptUpdated(
    @Root() event: Extract<ConversationEvent, { type: "receipt" }>,
    @Args(() => ConversationFilterArgs) _args: ConversationFilterArgs,
  ): ReceiptEvent {
    return event.receipt;
  }

  @Subscription(() => TypingEvent, {
    subscribe: async ({ args, context }: SubscribeData<TypingArgs>) => {
      const viewer = viewerIdOf(context);
      return only(await scoped(context, args.conversationId, { hideBlockers: true }), (ev) =>
        ev.type === "typing" && ev.typing.userId !== viewer ? ev : null,
      );
    },
  })
  typing(@Root() event: Extract<ConversationEvent, { type: "typing" }>, @Args(() => TypingArgs) _args: TypingArgs): TypingEventPayload {
    return event.typing;
  }

  @Subscription(() => ConversationType, {
    description: "The viewer's conversation list changed: a new last message, an unread count, a new conversation.",
    subscribe: ({ context }: SubscribeData<Record<string, never>>) => {
      const viewer = viewerIdOf(context);
      return only(context.services.streams.viewerEvents(viewer), (ev) => {
        if (ev.type === "message.added" || ev.type === "conversation.updated") return ev;
        if (ev.type === "receipt" && ev.receipt.userId === viewer) return ev;
        if (ev.type === "membership" && ev.member && ev.conversation) return ev;
        return null;
      });
    },
  })
  conversationUpdated(@Root() event: { conversation: ConversationSnapshot; message?: MessageView }): ConversationSnapshot {
    return event.conversation;
  }
}

@Resolver(() => ReceiptUpdate)
export class ReceiptUpdateResolver {
  @FieldResolver(() => User)
  async user(@Root() receipt: ReceiptEvent, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, receipt.userId);
  }
}

@Resolver(() => TypingEvent)
export class TypingEventResolver {
  @FieldResolver(() => User)
  async user(@Root() typing: TypingEventPayload, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, typing.userId);
  }
}
