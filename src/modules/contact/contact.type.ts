/** Output-only GraphQL types of the contacts part. */
import { Field, ObjectType } from "type-graphql";
import { ConnectionType } from "../../common/connection.js";
import { User } from "../user/user.entity.js";
import { Contact } from "./contact.entity.js";

/** A pending request to the viewer; the root is a ContactRequestNode (`from` is resolved). */
@ObjectType("ContactRequest")
export class ContactRequest {
  @Field(() => User)
  from!: User;

  @Field()
  createdAt!: Date;
}

export const ContactConnection = ConnectionType("Contact", () => Contact);
export const ContactRequestConnection = ConnectionType("ContactRequest", () => ContactRequest);
