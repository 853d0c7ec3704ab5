/** Arguments of the accounts part that are not input objects, with their shape rules. */
import { Length } from "class-validator";
import { ArgsType, Field } from "type-graphql";
import { MIN_PASSWORD_LENGTH } from "./account.input.js";

const MAX_PASSWORD_LENGTH = 256;
const NEW_PASSWORD_RULE = { message: `newPassword must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters` };

// Fields in the order the published schema lists the arguments.
@ArgsType()
export class ChangePasswordArgs {
  @Field()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, NEW_PASSWORD_RULE)
  newPassword!: string;

  @Field()
  currentPassword!: string;
}

@ArgsType()
export class ResetPasswordArgs {
  @Field()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, NEW_PASSWORD_RULE)
  newPassword!: string;

  @Field()
  token!: string;
}
