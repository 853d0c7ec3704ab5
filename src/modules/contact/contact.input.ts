/** Inputs of the contacts part of the contract. */
import { IsOptional, MaxLength } from "class-validator";
import { Field, InputType } from "type-graphql";

@InputType()
export class UpdateContactInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1000)
  notes?: string | null;

  @Field(() => Boolean, { nullable: true })
  isFavorite?: boolean | null;
}
