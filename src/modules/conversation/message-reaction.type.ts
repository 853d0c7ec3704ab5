/**
 * Output types of reactions and replies (issue 15), declared beside the ChatMessage interface
 * that lists them (conversation/ imports nothing from message/); their viewer- and
 * loader-dependent fields are resolved in message/reactions.resolver.ts.
 */
import { Field, ID, Int, ObjectType } from "type-graphql";
import { User } from "../user/user.entity.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
// A cycle with chat-message.type.ts, harmless: MessageType is only read inside the type thunk, at schema build.
import { MessageType } from "./chat-message.type.js";

@ObjectType("MessageReaction", { description: "The reactions of one emoji on a message." })
export class MessageReaction {
  @Field(() => String)
  emoji!: string;

  @Field(() => Int, { description: "How many users reacted with this emoji." })
  count!: number;

  @Field({ description: "Whether the viewer reacted with this emoji." })
  @ViewerSpecific()
  viewerReacted!: boolean;

  @Field(() => [User], { description: "The first users who reacted with this emoji (at most 3, in the order they reacted)." })
  users!: User[];
}

@ObjectType("QuotedMessage", { description: "The message a reply quotes: a tombstone (isDeleted true, no content) once deleted." })
export class QuotedMessage {
  @Field(() => ID)
  id!: string;

  @Field(() => User)
  sender!: User;

  @Field(() => MessageType)
  messageType!: MessageType;

  @Field(() => String, { nullable: true, description: "The first 200 characters of its content; null once deleted." })
  content!: string | null;

  @Field()
  isDeleted!: boolean;
}
