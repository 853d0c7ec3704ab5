/**
 * The GraphQL schema, built from the code with type-graphql. `npm run schema` writes it to
 * schema/schema.graphql (committed); a test fails when that file is stale.
 */
import "reflect-metadata";
import { DateTimeResolver } from "graphql-scalars";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import type { AppTopicsPubSub, Topics } from "./topics.js";
import { authChecker } from "./auth/auth-checker.js";
import { AccountResolver } from "./modules/account/account.resolver.js";
import { SessionResolver } from "./modules/account/session.resolver.js";
import { UserResolver } from "./modules/user/user.resolver.js";
import { ContactRequestResolver, ContactResolver } from "./modules/contact/contact.resolver.js";
import { FileResolver, MediaResolver } from "./modules/media/media.resolver.js";
import { NodeResolver } from "./modules/node/node.resolver.js";
import { GroupMessageResolver, MessageResolver } from "./modules/message/message.resolver.js";
import { ConversationFieldsResolver, DirectConversationResolver } from "./modules/conversation/conversation.resolver.js";
import { ConversationLastMessageResolver } from "./modules/message/conversation-message.resolver.js";
import { ConversationStateResolver } from "./modules/conversation/conversation-state.resolver.js";
import { PinnedMessagesResolver } from "./modules/message/pinned-messages.resolver.js";
import { GroupConversationResolver } from "./modules/group/group-conversation.resolver.js";
import { GroupResolver } from "./modules/group/group.resolver.js";
import { GroupInvitationResolver } from "./modules/group/group-invitation.resolver.js";
import { CallParticipantResolver, CallResolver, CallSignalResolver } from "./modules/call/call.resolver.js";
// User's fields from higher features are added in the order these modules are first evaluated
// (profilePicture, contact, presence): keep these three imports in this order, ahead of others
// that could load them.
import { UserProfilePictureResolver } from "./modules/media/user-profile-picture.resolver.js";
import { UserContactResolver } from "./modules/contact/user-contact.resolver.js";
import { PresenceResolver, UserPresenceResolver } from "./modules/presence/presence.resolver.js";
import { AuditResolver } from "./modules/audit/audit.resolver.js";
import { MessageActionsResolver } from "./modules/message/message-actions.resolver.js";
import { MessageReactionResolver, QuotedMessageResolver, ReactionsResolver } from "./modules/message/reactions.resolver.js";
import { MessageMentionsResolver, UnreadMentionsResolver } from "./modules/message/mentions.resolver.js";
import { MessagingSubscriptionResolver, ReceiptUpdateResolver, TypingEventResolver } from "./modules/message/subscription.resolver.js";
import { SyncResolver } from "./modules/sync/sync.resolver.js";

export const resolvers = [
  AccountResolver,
  UserResolver,
  ContactResolver,
  ContactRequestResolver,
  MediaResolver,
  FileResolver,
  NodeResolver,
  MessageResolver,
  GroupMessageResolver,
  MessageActionsResolver,
  ReactionsResolver,
  MessageReactionResolver,
  QuotedMessageResolver,
  MessageMentionsResolver,
  UnreadMentionsResolver,
  ConversationFieldsResolver,
  ConversationLastMessageResolver,
  DirectConversationResolver,
  GroupConversationResolver,
  GroupResolver,
  MessagingSubscriptionResolver,
  ReceiptUpdateResolver,
  TypingEventResolver,
  CallResolver,
  CallParticipantResolver,
  CallSignalResolver,
  PresenceResolver,
  UserPresenceResolver,
  AuditResolver,
  UserProfilePictureResolver,
  UserContactResolver,
  SessionResolver,
  GroupInvitationResolver,
  ConversationStateResolver,
  PinnedMessagesResolver,
  SyncResolver,
] as const;

/**
 * Subscriptions use their own `subscribe` functions over the app's topics; type-graphql still
 * wants a pubSub, so the server passes its own (schema emits get an in-memory one).
 */
export function buildAppSchema(pubSub: AppTopicsPubSub | PubSub<Topics> = createPubSub<Topics>()): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    pubSub: pubSub as unknown as NonNullable<Parameters<typeof buildSchema>[0]["pubSub"]>,
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false },
  });
}
