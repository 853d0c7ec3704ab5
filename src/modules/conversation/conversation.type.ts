/**
 * GraphQL types of conversations; roots are ConversationSnapshot objects (the same in events).
 * `lastMessage` is resolved by message/ and `GroupConversation.group` declared by group/:
 * both features sit above this one.
 */
import { Field, ID, Int, InterfaceType, ObjectType } from "type-graphql";
import { ConnectionType } from "../../common/connection.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { Node } from "../node/node.interface.js";
import { User } from "../user/user.entity.js";
import { ChatMessage } from "./chat-message.type.js";
import type { ConversationSnapshot } from "./conversation.view.js";

@InterfaceType("Conversation", {
  resolveType: (value: ConversationSnapshot) => (value.kind === "group" ? "GroupConversation" : "DirectConversation"),
})
export abstract class ConversationType {
  @Field(() => ID)
  id!: string;

  @Field(() => ChatMessage, { nullable: true })
  lastMessage!: ChatMessage | null;

  @Field(() => Int, { description: "seq of the last message; 0 when empty." })
  lastSeq!: number;

  @Field(() => Int, { description: "Messages from others after the viewer's read watermark." })
  @ViewerSpecific()
  unreadCount!: number;

  @Field(() => Int, { description: "Messages from others after the viewer's read watermark that mention the viewer (counted when muted too)." })
  @ViewerSpecific()
  unreadMentionCount!: number;

  @Field(() => Int, { description: "The viewer's watermarks." })
  @ViewerSpecific()
  readSeq!: number;

  @Field(() => Int)
  @ViewerSpecific()
  deliveredSeq!: number;

  @Field(() => Date)
  updatedAt!: string;

  // The viewer's own list state (conversation-state.resolver.ts).

  @Field(() => Date, { nullable: true, description: "The viewer muted the conversation until then; null when not muted or the time has passed." })
  @ViewerSpecific()
  mutedUntil!: Date | null;

  @Field({ description: "The viewer archived it: `conversations` lists it only with `archived: true`." })
  @ViewerSpecific()
  isArchived!: boolean;

  @Field({ description: "The viewer pinned it to the top of their list." })
  @ViewerSpecific()
  isPinned!: boolean;

  @Field({ description: "The viewer marked it unread; their next markRead clears it." })
  @ViewerSpecific()
  isMarkedUnread!: boolean;

  @Field(() => [ChatMessage], { description: "Pinned messages (at most 50), the latest pin first; deleted messages are left out." })
  pinnedMessages!: ChatMessage[];
}

@ObjectType("DirectConversation", { implements: [Node, ConversationType] })
export class DirectConversation extends ConversationType {
  @Field(() => User)
  @ViewerSpecific()
  peer!: User;
}

@ObjectType("GroupConversation", { implements: [Node, ConversationType], description: "A group's conversation has the group's id." })
export class GroupConversation extends ConversationType {
  // `group` is added by group/group-conversation.resolver.ts (the group feature sits above this one).
}

export const ConversationConnection = ConnectionType("Conversation", () => ConversationType);
