/** `changes` arguments: the cursor and how many new messages per conversation at most. */
import { IsOptional, Max, MaxLength, Min } from "class-validator";
import { ArgsType, Field, Int } from "type-graphql";

/** Cursors hold ~16 bytes per conversation (base64url); this bounds the text far above any real one. */
const MAX_CURSOR_CHARS = 1_000_000;

@ArgsType()
export class ChangesArgs {
  @Field(() => String, { nullable: true, description: "The cursor of the previous changes call; null for the whole current state." })
  @IsOptional()
  @MaxLength(MAX_CURSOR_CHARS, { message: "since is not a cursor from changes" })
  since?: string | null;

  @Field(() => Int, { defaultValue: 50, description: "New messages per conversation at most (1-200); past it the conversation has hasMore." })
  @Min(1, { message: "limitPerConversation must be 1 to 200" })
  @Max(200, { message: "limitPerConversation must be 1 to 200" })
  limitPerConversation!: number;
}
