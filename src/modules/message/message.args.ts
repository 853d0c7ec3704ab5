/**
 * Argument classes of the messaging fields: shape rules (lengths, ranges) as class-validator
 * decorators, and the arguments of the subscriptions (no `args as …` casts). Fields are
 * declared in the order the published schema lists the arguments.
 */
import { Matches, MaxLength, Min } from "class-validator";
import { ArgsType, Field, ID, Int } from "type-graphql";
import { MAX_CONTENT } from "./message.input.js";

/** `markDelivered` / `markRead`. */
@ArgsType()
export class MarkArgs {
  @Field(() => Int)
  @Min(0, { message: "upToSeq must be a non-negative integer" })
  upToSeq!: number;

  @Field(() => ID)
  conversationId!: string;
}

/** `editMessage`: new content, 1 to MAX_CONTENT characters, not only blanks. */
@ArgsType()
export class EditMessageArgs {
  @Field()
  @Matches(/\S/, { message: `content must be 1 to ${MAX_CONTENT} characters` })
  @MaxLength(MAX_CONTENT, { message: `content must be 1 to ${MAX_CONTENT} characters` })
  content!: string;

  @Field(() => ID)
  id!: string;
}

/** `searchMessages` (paging comes from ForwardPage). */
@ArgsType()
export class SearchMessagesArgs {
  @Field(() => ID, { nullable: true })
  conversationId?: string | null;

  @Field()
  @Matches(/\S/, { message: "query must be 1 to 200 characters" })
  @MaxLength(200, { message: "query must be 1 to 200 characters" })
  query!: string;
}

/** Subscriptions over all the viewer's conversations, or one. */
@ArgsType()
export class ConversationFilterArgs {
  @Field(() => ID, { nullable: true })
  conversationId?: string | null;
}

/** `messageAdded`: with conversationId and afterSeq, a replay first. */
@ArgsType()
export class MessageAddedArgs {
  @Field(() => Int, { nullable: true })
  afterSeq?: number | null;

  @Field(() => ID, { nullable: true })
  conversationId?: string | null;
}

/** `typing`: one conversation. */
@ArgsType()
export class TypingArgs {
  @Field(() => ID)
  conversationId!: string;
}
