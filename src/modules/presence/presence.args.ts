/** Arguments of the presence part: at most 100 users per query or subscription. */
import { ArrayMaxSize, IsOptional } from "class-validator";
import { ArgsType, Field, ID } from "type-graphql";

export const MAX_PRESENCE_USERS = 100;
const TOO_MANY = { message: `at most ${MAX_PRESENCE_USERS} users` };

@ArgsType()
export class PresenceArgs {
  @Field(() => [ID])
  @ArrayMaxSize(MAX_PRESENCE_USERS, TOO_MANY)
  userIds!: string[];
}

@ArgsType()
export class PresenceChangedArgs {
  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(MAX_PRESENCE_USERS, TOO_MANY)
  userIds?: string[] | null;
}
