/** Inputs and connections of the contacts part of the contract. */
import { IsOptional, MaxLength } from "class-validator";
import { Field, InputType } from "type-graphql";
import { ConnectionType } from "../../common/connection.js";
import { Contact, ContactRequest } from "./contact.entity.js";

@InputType()
export class UpdateContactInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(1000)
  notes?: string | null;

  @Field(() => Boolean, { nullable: true })
  isFavorite?: boolean | null;
}

export const ContactConnection = ConnectionType("Contact", () => Contact);
export const ContactRequestConnection = ConnectionType("ContactRequest", () => ContactRequest);
