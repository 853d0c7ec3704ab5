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

  @Field(() => Int, { description: "The viewer's watermarks." })
  @ViewerSpecific()
  readSeq!: number;

  @Field(() => Int)
  @ViewerSpecific()
  deliveredSeq!: number;

  @Field(() => Date)
  updatedAt!: string;
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
