/**
 * The message as a conversation shows it (`Conversation.lastMessage`, message connections):
 * the ChatMessage interface and its MessageType. The concrete types (Message, GroupMessage)
 * and their viewer-specific fields live in message/, which builds on this; declaring the
 * interface here keeps conversation/ free of imports from message/.
 */
import { Field, ID, Int, InterfaceType, ObjectType, registerEnumType } from "type-graphql";
import { User } from "../user/user.entity.js";
import { Attachment } from "../media/media.entity.js";
import { MessageReaction, QuotedMessage } from "./message-reaction.type.js";

export enum MessageType {
  TEXT = "TEXT",
  IMAGE = "IMAGE",
  AUDIO = "AUDIO",
  VIDEO = "VIDEO",
  DOCUMENT = "DOCUMENT",
}
registerEnumType(MessageType, { name: "MessageType" });

@ObjectType("MessageEdit", { description: "An earlier content of an edited message." })
export class MessageEdit {
  @Field(() => String)
  content!: string;

  @Field(() => Date, { description: "When this content was written: the message's creation for the first entry, the previous edit's time after." })
  at!: string;
}

@InterfaceType("ChatMessage", {
  description: "A message in a direct or a group conversation.",
  resolveType: (value: { kind: "direct" | "group" }) => (value.kind === "group" ? "GroupMessage" : "Message"),
})
export abstract class ChatMessage {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field(() => Int, { description: "1, 2, 3, ... within its conversation: gap-free, in commit order." })
  seq!: number;

  @Field(() => String, { nullable: true })
  clientMessageId!: string | null;

  @Field(() => User)
  sender!: User;

  @Field(() => String, { nullable: true, description: "Null once deleted." })
  content!: string | null;

  @Field(() => MessageType)
  messageType!: MessageType;

  @Field(() => Attachment, { nullable: true })
  attachment!: unknown;

  @Field()
  isDeleted!: boolean;

  @Field(() => Date, { nullable: true })
  editedAt!: string | null;

  @Field(() => [MessageEdit], {
    description: "Earlier contents, oldest first: the last 20 edits (older ones are dropped). Empty when never edited or deleted.",
  })
  editHistory!: MessageEdit[];

  @Field({ description: "True when made by forwardMessage." })
  forwarded!: boolean;

  @Field(() => [MessageReaction], {
    description: "Reactions grouped by emoji, in the order each emoji was first used (at most 20 emoji). Empty once deleted.",
  })
  reactions!: MessageReaction[];

  @Field(() => QuotedMessage, { nullable: true, description: "The message this one replies to (replyToId when sent)." })
  replyTo!: QuotedMessage | null;

  @Field(() => [User], { description: "The users it mentions (mentions when sent). Empty once deleted." })
  mentions!: User[];

  @Field(() => Date)
  createdAt!: string;

  @Field(() => Date)
  updatedAt!: string;
}
