/**
 * A refresh-token session. Each rotation stores a new document in the same family and marks the
 * old one `rotated_at`; presenting a rotated token again revokes the whole family (token theft).
 * Only the SHA-256 of the token is stored; `expires_at` has a TTL index.
 */
import { index, modelOptions, prop, Severity } from "@typegoose/typegoose";
import { Types } from "mongoose";

@index({ token_hash: 1 }, { unique: true })
@index({ family_id: 1 })
@index({ user_id: 1 })
@index({ expires_at: 1 }, { expireAfterSeconds: 0 })
@modelOptions({ schemaOptions: { collection: "sessions", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class Session {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  /** Stays the same across rotations: the access token's `sid`. */
  @prop({ type: String, required: true })
  family_id!: string;

  @prop({ type: String, required: true })
  token_hash!: string;

  @prop({ type: Date, required: true })
  expires_at!: Date;

  @prop({ type: Date, default: null })
  rotated_at!: Date | null;

  @prop({ type: Date, default: null })
  revoked_at!: Date | null;

  @prop({ type: Object, default: null, allowMixed: Severity.ALLOW })
  device!: Record<string, string> | null;

  created_at!: Date;
}
