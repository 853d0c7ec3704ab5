/**
 * Live events. Topics are per conversation (`CONVERSATION:<id>`) and per user (`USER:<id>`),
 * never one global topic filtered per subscriber. Events are plain JSON (ids as strings, dates
 * as ISO strings) so they cross Redis unchanged when REDIS_URL is set.
 */
import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import { setMaxListeners } from "node:events";
import type { MessageView } from "./modules/message/message.view.js";
import type { ConversationSnapshot } from "./modules/conversation/conversation.view.js";

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

export type ConversationEvent =
  | { type: "message.added"; message: MessageView; conversation: ConversationSnapshot }
  | { type: "message.updated"; message: MessageView }
  | { type: "receipt"; receipt: ReceiptEvent; conversation: ConversationSnapshot }
  | { type: "typing"; typing: TypingEventPayload }
  | { type: "conversation.updated"; conversation: ConversationSnapshot };

export type UserEvent =
  /** The user joined or left a conversation: "all my conversations" subscriptions adjust. */
  | { type: "membership"; conversationId: string; member: boolean; conversation?: ConversationSnapshot };

/** The typed topic map. */
export type Topics = {
  CONVERSATION: [conversationId: string, event: ConversationEvent];
  USER: [userId: string, event: UserEvent];
};

export type AppPubSub = PubSub<Topics>;

export interface PubSubHandle {
  pubSub: AppPubSub;
  close(): Promise<void>;
}

export function createAppPubSub(redisUrl: string | null): PubSubHandle {
  if (!redisUrl) {
    // One listener per subscriber and topic: thousands on a busy conversation are expected.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { pubSub: createPubSub<Topics>({ eventTarget: eventTarget as never }), close: async () => {} };
  }
  const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const eventTarget = createRedisEventTarget({ publishClient, subscribeClient });
  return {
    pubSub: createPubSub<Topics>({ eventTarget: eventTarget as never }),
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
