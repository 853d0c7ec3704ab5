/** Arguments of the per-member conversation state mutations (shape rules as class-validator decorators). */
import { IsOptional, MinDate } from "class-validator";
import { ArgsType, Field, ID } from "type-graphql";

/** `muteConversation`: until a future time; null or absent unmutes. A past time is refused (not read as unmute: a clock mistake should not silently unmute). */
@ArgsType()
export class MuteConversationArgs {
  @Field(() => ID)
  conversationId!: string;

  @Field(() => Date, { nullable: true })
  @IsOptional()
  @MinDate(() => new Date(), { message: "until must be in the future (null unmutes)" })
  until?: Date | null;
}
