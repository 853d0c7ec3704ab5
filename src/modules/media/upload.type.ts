/** Output types of the uploads part. */
import { Field, ID, Int, ObjectType } from "type-graphql";

@ObjectType()
export class UploadTicket {
  @Field(() => ID)
  uploadId!: string;

  @Field({ description: "PUT the raw bytes here before expiresAt." })
  uploadUrl!: string;

  @Field()
  expiresAt!: Date;

  @Field(() => Int)
  maxBytes!: number;
}
