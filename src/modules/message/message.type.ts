/**
 * GraphQL types of the messaging part of the contract. Roots are MessageView objects (plain
 * JSON, the same in queries and events); viewer-specific fields are resolved from them.
 */
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionType } from "../../common/connection.js";
import { Node } from "../node/node.interface.js";
import { User } from "../user/user.entity.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";

export enum MessageStatus {
  SENT = "SENT",
  DELIVERED = "DELIVERED",
  READ = "READ",
}
registerEnumType(MessageStatus, { name: "MessageStatus" });

export enum ReceiptStatus {
  PENDING = "PENDING",
  DELIVERED = "DELIVERED",
  READ = "READ",
}
registerEnumType(ReceiptStatus, { name: "ReceiptStatus" });

@ObjectType("Message", { implements: [Node, ChatMessage] })
export class Message extends ChatMessage {
  @Field(() => User)
  recipient!: User;

  @Field(() => MessageStatus, { description: "READ is only shown to the sender when the recipient has read receipts enabled." })
  @ViewerSpecific()
  status!: MessageStatus;
}

@ObjectType("MessageReceipt")
export class MessageReceipt {
  @Field(() => User)
  user!: User;

  @Field(() => ReceiptStatus)
  @ViewerSpecific()
  status!: ReceiptStatus;

  @Field(() => Date, { nullable: true })
  at!: Date | null;
}

export const MessageReceiptConnection = ConnectionType("MessageReceipt", () => MessageReceipt);

@ObjectType("GroupMessage", { implements: [Node, ChatMessage] })
export class GroupMessage extends ChatMessage {
  @Field(() => Int)
  @ViewerSpecific()
  readCount!: number;

  @Field(() => Int)
  @ViewerSpecific()
  deliveredCount!: number;
}

export const ChatMessageConnection = ConnectionType("ChatMessage", () => ChatMessage);

@ObjectType("ReceiptUpdate")
export class ReceiptUpdate {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => User)
  user!: User;

  // Equal for every viewer, but marked as the old list of names did: shared execution stays as it was.
  @Field(() => Int)
  @ViewerSpecific()
  deliveredSeq!: number;

  @Field(() => Int, { description: "Stays at its last shared value for users who disabled read receipts." })
  @ViewerSpecific()
  readSeq!: number;
}

@ObjectType("TypingEvent")
export class TypingEvent {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => User)
  user!: User;

  @Field()
  isTyping!: boolean;
}
