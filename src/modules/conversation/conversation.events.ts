/**
 * Events on a conversation's topic (`CONVERSATION:<id>`), never one global topic filtered per
 * subscriber. The conversation feature owns the topic and its own events; features above it
 * (messages, calls) add theirs to `ConversationEventMap` in their `*.events.ts`. Events are
 * plain JSON (ids as strings, dates as ISO strings) so they cross Redis unchanged.
 */
import type { ConversationSnapshot } from "./conversation.view.js";
import type {} from "../user/user.events.js";

export interface ReceiptEvent {
  conversationId: string;
  userId: string;
  deliveredSeq: number;
  /** The member's shared read watermark (frozen while their read receipts are off). */
  readSeq: number;
}

export interface TypingEventPayload {
  conversationId: string;
  userId: string;
  isTyping: boolean;
}

/** Event payloads on the conversation topic, by `type`. Features above this one add theirs. */
export interface ConversationEventMap {
  receipt: { receipt: ReceiptEvent; conversation: ConversationSnapshot };
  typing: { typing: TypingEventPayload };
  "conversation.updated": { conversation: ConversationSnapshot };
  /**
   * Rights changed: these users (null: every member, a deactivated group) may no longer follow
   * the conversation. Streams end or drop it on this event, so no event needs a lookup.
   */
  "access.revoked": { userIds: string[] | null };
}

export type ConversationEvent = { [K in keyof ConversationEventMap]: { type: K } & ConversationEventMap[K] }[keyof ConversationEventMap];

export type ConversationTopics = {
  CONVERSATION: [conversationId: string, event: ConversationEvent];
};

declare module "../user/user.events.js" {
  interface UserEventMap {
    /** The user joined or left a conversation: "all my conversations" subscriptions adjust. */
    membership: { conversationId: string; member: boolean; conversation?: ConversationSnapshot };
  }
}
