/**
 * A group (collection `groups`, seed 004): members and admins as id lists. Membership order
 * and join times live in the group's conversation (members[].joined_at).
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../node/node.interface.js";

export const MAX_GROUP_MEMBERS = 1024;

export enum GroupRole {
  ADMIN = "ADMIN",
  MEMBER = "MEMBER",
}
registerEnumType(GroupRole, { name: "GroupRole" });

@ObjectType("Group", { implements: Node })
@index({ members: 1 })
@modelOptions({ schemaOptions: { collection: "groups", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class Group extends Node {
  readonly _id!: Types.ObjectId;

  @Field()
  @prop({ type: String, required: true, trim: true })
  name!: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String, default: null })
  description!: string | null;

  /** A Media id (string, as seed 004 types it). */
  @prop({ type: String, default: null })
  icon!: string | null;

  @prop({ type: () => Types.ObjectId, required: true })
  creator_id!: Types.ObjectId;

  @prop({ type: () => [Types.ObjectId], default: [] })
  members!: Types.ObjectId[];

  @prop({ type: () => [Types.ObjectId], default: [] })
  admins!: Types.ObjectId[];

  @Field({ name: "isActive" })
  @prop({ type: Boolean, required: true, default: true })
  is_active!: boolean;

  @Field({ name: "createdAt" })
  created_at!: Date;

  @Field({ name: "updatedAt" })
  updated_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Group: typeof Group;
  }
}
