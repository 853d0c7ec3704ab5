/**
 * The live-event topic map, assembled from the features' own topics (each in its
 * `*.events.ts`). Only the composition root sees the whole map; a feature types its pubsub
 * with the topics it uses, and this map is assignable to each of those.
 */
import type { AppPubSub } from "./pubsub.js";
import type { UserTopics } from "./modules/user/user.events.js";
import type { ConversationTopics } from "./modules/conversation/conversation.events.js";
import type { CallTopics } from "./modules/call/call.events.js";
import type { PresenceTopics } from "./modules/presence/presence.events.js";
import type { AccountTopics } from "./modules/account/account.events.js";
// Event types that other features add to the user and conversation topics.
import type {} from "./modules/contact/contact.events.js";
import type {} from "./modules/message/message.events.js";

export type Topics = UserTopics & ConversationTopics & CallTopics & PresenceTopics & AccountTopics;

export type AppTopicsPubSub = AppPubSub<Topics>;
