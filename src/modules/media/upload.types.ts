/** Inputs and outputs of the uploads part of the contract. */
import { Field, ID, InputType, Int, ObjectType } from "type-graphql";

@InputType()
export class CreateUploadInput {
  @Field({ description: "1-255 characters, no path separators." })
  originalFilename!: string;

  @Field({ description: "Declared type; image/*, video/*, audio/* become Media, anything else a File. Checked against the bytes." })
  mimeType!: string;

  @Field(() => Int, { description: "Bytes; at most the server's limit (default 25 MiB)." })
  fileSize!: number;
}

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
