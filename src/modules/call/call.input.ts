/** Inputs of the calls part of the contract. */
import { JSONScalar } from "../../common/json-scalar.js";
import { Field, ID, InputType } from "type-graphql";
import { CallType } from "./call.entity.js";

@InputType()
export class StartCallInput {
  @Field(() => ID, { nullable: true, description: "Exactly one of recipientId and groupId." })
  recipientId?: string | null;

  @Field(() => ID, { nullable: true })
  groupId?: string | null;

  @Field(() => CallType)
  callType!: CallType;

  @Field(() => JSONScalar, { nullable: true, description: "A JSON object of at most 8 KB." })
  metadata?: unknown;
}
