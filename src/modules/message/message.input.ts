/** Inputs of the messaging part of the contract. */
import { Field, ID, InputType } from "type-graphql";
import { MessageType } from "./message.types.js";

@InputType()
export class SendMessageInput {
  @Field(() => ID)
  recipientId!: string;

  @Field(() => String, { nullable: true, description: "Required for TEXT; optional caption otherwise. At most 10,000 characters." })
  content?: string | null;

  @Field(() => MessageType, { nullable: true, defaultValue: MessageType.TEXT })
  messageType?: MessageType | null;

  @Field(() => ID, { nullable: true, description: "A completed upload of the sender; its kind must fit messageType." })
  attachmentId?: string | null;

  @Field(() => String, { nullable: true, description: "The client's own id for this message (1-64 chars): retries with the same id are deduplicated." })
  clientMessageId?: string | null;
}

@InputType()
export class SendGroupMessageInput {
  @Field(() => ID)
  groupId!: string;

  @Field(() => String, { nullable: true })
  content?: string | null;

  @Field(() => MessageType, { nullable: true, defaultValue: MessageType.TEXT })
  messageType?: MessageType | null;

  @Field(() => ID, { nullable: true })
  attachmentId?: string | null;

  @Field(() => String, { nullable: true })
  clientMessageId?: string | null;
}
