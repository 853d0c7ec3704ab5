/**
 * An invitation to a group (collection `group_invitations`, beside seed 004): made instead of
 * a silent addition when the invitee allows direct additions from contacts only and the adder
 * is not one. One per (group, invitee); it expires (TTL index on `expires_at`).
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, ObjectType } from "type-graphql";

/** How long an unanswered invitation stays; the TTL index removes it afterwards. */
export const INVITATION_TTL_MS = 14 * 24 * 60 * 60 * 1000;
/** Unanswered invitations one user can hold; further ones are not stored (a spam bound). */
export const MAX_PENDING_INVITATIONS = 200;

@ObjectType("GroupInvitation", { description: "An invitation to join a group, for the invitee to accept or decline." })
@index({ group_id: 1, user_id: 1 }, { unique: true })
@index({ user_id: 1, _id: -1 })
@index({ expires_at: 1 }, { expireAfterSeconds: 0 })
@modelOptions({ schemaOptions: { collection: "group_invitations", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class GroupInvitation {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  group_id!: Types.ObjectId;

  /** The invitee. */
  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  /** Who added them; must still be an admin of the group when they accept. */
  @prop({ type: () => Types.ObjectId, required: true })
  inviter_id!: Types.ObjectId;

  @Field({ name: "expiresAt" })
  @prop({ type: Date, required: true })
  expires_at!: Date;

  @Field({ name: "createdAt" })
  created_at!: Date;

  updated_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    GroupInvitation: typeof GroupInvitation;
  }
}
