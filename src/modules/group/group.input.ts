/** Inputs of the groups part of the contract (shape rules as class-validator decorators). */
import { ArrayMaxSize, IsOptional, Length, MaxLength } from "class-validator";
import { Field, ID, InputType } from "type-graphql";
import { MAX_GROUP_MEMBERS } from "./group.entity.js";

@InputType()
export class CreateGroupInput {
  @Field({ description: "1-100 characters." })
  @Length(1, 100)
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1000)
  description?: string | null;

  @Field(() => ID, { nullable: true })
  iconId?: string | null;

  @Field(() => [ID], { description: "Other members; the creator is added as admin. At most 1,023 others." })
  @ArrayMaxSize(MAX_GROUP_MEMBERS - 1)
  memberIds!: string[];
}

@InputType()
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 100)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1000)
  description?: string | null;

  @Field(() => ID, { nullable: true })
  iconId?: string | null;
}
