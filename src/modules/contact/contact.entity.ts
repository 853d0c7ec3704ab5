/**
 * A contact: one user's own entry about another (collection `contacts`, seed 004). A request is
 * the requester's PENDING entry; accepting makes both users' entries ACCEPTED; BLOCKED is the
 * blocker's entry, which the blocked user never sees.
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, ObjectType } from "type-graphql";
import { Node } from "../node/node.interface.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { ContactStatus } from "../user/contact-status.js";

// Defined with users (privacy reads it); contacts' readers keep importing it from here.
export { ContactStatus };

@ObjectType("Contact", { implements: Node, description: "The viewer's own entry about another user." })
@index({ user_id: 1, contact_id: 1 }, { unique: true })
@index({ contact_id: 1, status: 1 })
@index({ user_id: 1, status: 1 })
@modelOptions({ schemaOptions: { collection: "contacts", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class Contact extends Node {
  readonly _id!: Types.ObjectId;

  /** The owner of this entry. */
  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  /** The other user (resolved as `user`). */
  @prop({ type: () => Types.ObjectId, required: true })
  contact_id!: Types.ObjectId;

  @ViewerSpecific()
  @Field(() => ContactStatus)
  @prop({ type: String, enum: ContactStatus, required: true })
  status!: ContactStatus;

  @Field(() => String, { nullable: true })
  @prop({ type: String })
  notes?: string;

  @Field({ name: "isFavorite" })
  @prop({ type: Boolean, required: true, default: false })
  is_favorite!: boolean;

  @Field({ name: "createdAt" })
  created_at!: Date;

  @Field({ name: "updatedAt" })
  updated_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Contact: typeof Contact;
  }
}
