/** `forwardMessage`: the source message, exactly one target, and the client's idempotency id. */
import { IsDefined, IsEmpty, IsOptional, Length, ValidateIf } from "class-validator";
import { ArgsType, Field, ID } from "type-graphql";

const exactlyOne = { message: "give exactly one of recipientId and groupId" };

@ArgsType()
export class ForwardMessageArgs {
  @Field(() => ID, { description: "A message the viewer can read; not a deleted one." })
  messageId!: string;

  // Neither target: recipientId is named; both: groupId is.
  @Field(() => ID, { nullable: true, description: "Forward into the direct conversation with this user (exactly one of recipientId and groupId)." })
  @ValidateIf((o: ForwardMessageArgs) => o.groupId == null)
  @IsDefined(exactlyOne)
  recipientId?: string | null;

  @Field(() => ID, { nullable: true, description: "Forward into this group (exactly one of recipientId and groupId)." })
  @ValidateIf((o: ForwardMessageArgs) => o.recipientId != null)
  @IsEmpty(exactlyOne)
  groupId?: string | null;

  @Field(() => String, { nullable: true, description: "As on sendMessage (1-64 chars): a retry with the same id returns the first forward." })
  @IsOptional()
  @Length(1, 64, { message: "clientMessageId must be 1 to 64 characters" })
  clientMessageId?: string | null;
}
