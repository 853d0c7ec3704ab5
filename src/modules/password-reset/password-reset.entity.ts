/**
 * A password reset request (collection `password_reset_tokens`, seed 004's PasswordReset).
 * `token` holds the SHA-256 of the token sent by mail, never the token; TTL on `expiry`.
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";

@index({ token: 1 }, { unique: true })
@index({ user_id: 1 })
@index({ expiry: 1 }, { expireAfterSeconds: 0 })
@modelOptions({ schemaOptions: { collection: "password_reset_tokens", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class PasswordReset {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  @prop({ type: String, required: true })
  token!: string;

  @prop({ type: Date, required: true })
  expiry!: Date;

  @prop({ type: Boolean, required: true, default: false })
  used!: boolean;

  created_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    PasswordReset: typeof PasswordReset;
  }
}
