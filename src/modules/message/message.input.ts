/** Inputs of the messaging part of the contract (shape rules as class-validator decorators). */
import { ArrayMaxSize, IsOptional, Length, MaxLength } from "class-validator";
import { Field, ID, InputType } from "type-graphql";
import { MessageType } from "../conversation/chat-message.type.js";

/** Longest message content, in characters (sending and editing). */
export const MAX_CONTENT = 10_000;

/** Most users one message may mention. */
export const MAX_MENTIONS = 50;

/** The messages of a length rule, as the API has always worded them. */
const contentTooLong = { message: `content must be at most ${MAX_CONTENT} characters` };
const clientIdLength = { message: "clientMessageId must be 1 to 64 characters" };

@InputType()
export class SendMessageInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => String, { nullable: true, description: "Required for TEXT; optional caption otherwise. At most 10,000 characters." })
  @IsOptional()
  @MaxLength(MAX_CONTENT, contentTooLong)
  content?: string | null;

  @Field(() => MessageType, { nullable: true, defaultValue: MessageType.TEXT })
  messageType?: MessageType | null;

  @Field(() => ID, { nullable: true, description: "A completed upload of the sender; its kind must fit messageType." })
  attachmentId?: string | null;

  @Field(() => String, { nullable: true, description: "The client's own id for this message (1-64 chars): retries with the same id are deduplicated." })
  @IsOptional()
  @Length(1, 64, clientIdLength)
  clientMessageId?: string | null;

  @Field(() => ID, { nullable: true, description: "The message this one replies to: one of the same conversation." })
  replyToId?: string | null;

  @Field(() => [ID], { nullable: true, description: "Users this message mentions: members of the conversation, at most 50." })
  @IsOptional()
  @ArrayMaxSize(MAX_MENTIONS, { message: `mentions must list at most ${MAX_MENTIONS} users` })
  mentions?: string[] | null;
}

@InputType()
export class SendGroupMessageInput {
  @Field(() => ID)
  groupId!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(MAX_CONTENT, contentTooLong)
  content?: string | null;

  @Field(() => MessageType, { nullable: true, defaultValue: MessageType.TEXT })
  messageType?: MessageType | null;

  @Field(() => ID, { nullable: true })
  attachmentId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 64, clientIdLength)
  clientMessageId?: string | null;

  @Field(() => ID, { nullable: true, description: "The message this one replies to: one of the same conversation." })
  replyToId?: string | null;

  @Field(() => [ID], { nullable: true, description: "Users this message mentions: members of the conversation, at most 50." })
  @IsOptional()
  @ArrayMaxSize(MAX_MENTIONS, { message: `mentions must list at most ${MAX_MENTIONS} users` })
  mentions?: string[] | null;
}
