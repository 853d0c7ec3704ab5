/**
 * A refresh-token session. Each rotation stores a new document in the same family and marks the
 * old one `rotated_at`; presenting a rotated token again revokes the whole family (token theft).
 * Only the SHA-256 of the token is stored; `expires_at` has a TTL index.
 *
 * A family is one login ("session" in the API): the unrotated document of a family (its head)
 * carries what the `sessions` query shows, copied forward on each rotation, so listing the
 * viewer's logins reads one document per login, never the rotation history.
 */
import { index, modelOptions, prop, Severity } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, ID, ObjectType } from "type-graphql";

@ObjectType("Session", { description: "One login of the viewer (a device or browser), across refresh-token rotations." })
@index({ token_hash: 1 }, { unique: true })
@index({ family_id: 1 })
@index({ user_id: 1 })
@index({ expires_at: 1 }, { expireAfterSeconds: 0 })
@modelOptions({ schemaOptions: { collection: "sessions", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class Session {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  /** Stays the same across rotations: the access token's `sid`, and the API's session id. */
  @Field(() => ID, { name: "id" })
  @prop({ type: String, required: true })
  family_id!: string;

  @prop({ type: String, required: true })
  token_hash!: string;

  /** This refresh token's end: sliding (REFRESH_TOKEN_TTL_SECONDS), never past `absolute_expires_at`. */
  @prop({ type: Date, required: true })
  expires_at!: Date;

  /** The login's hard end (SESSION_MAX_AGE_SECONDS after it started), whatever the refreshes. */
  @Field(() => Date, { name: "expiresAt", nullable: true, description: "When this login ends at the latest, however often it is refreshed." })
  @prop({ type: Date, default: null })
  absolute_expires_at!: Date | null;

  @prop({ type: Date, default: null })
  rotated_at!: Date | null;

  @prop({ type: Date, default: null })
  revoked_at!: Date | null;

  /** From the login input (deviceType, appVersion, platform). */
  @prop({ type: Object, default: null, allowMixed: Severity.ALLOW })
  device!: Record<string, string> | null;

  @Field(() => String, { name: "ip", nullable: true, description: "The address the login came from." })
  @prop({ type: String, default: null })
  ip!: string | null;

  @Field(() => String, { name: "userAgent", nullable: true })
  @prop({ type: String, default: null })
  user_agent!: string | null;

  /** When the login started (the family's first document). */
  @Field(() => Date, { name: "createdAt" })
  @prop({ type: Date, default: () => new Date() })
  started_at!: Date;

  /** Last refresh or authenticated request (at most one write per minute per instance). */
  @Field(() => Date, { name: "lastUsedAt" })
  @prop({ type: Date, default: () => new Date() })
  last_used_at!: Date;

  created_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Session: typeof Session;
  }
}
