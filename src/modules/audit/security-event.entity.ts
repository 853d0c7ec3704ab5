/**
 * One entry of a user's security log (collection `security_events`, beside seed 004): logins,
 * password changes and resets, session revocations, deactivation, group admin actions.
 * `user_id` is the account the event is about (null for a failed login naming no account, so
 * it is nobody's to read). `expires_at` carries the retention (AUDIT_RETENTION_DAYS) and a
 * TTL index, so the retention can change without rebuilding the index.
 */
import { index, modelOptions, prop, Severity } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { JSONScalar } from "../../common/json-scalar.js";

export enum SecurityEventType {
  LOGIN_SUCCEEDED = "LOGIN_SUCCEEDED",
  LOGIN_FAILED = "LOGIN_FAILED",
  PASSWORD_CHANGED = "PASSWORD_CHANGED",
  PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED",
  PASSWORD_RESET = "PASSWORD_RESET",
  SESSION_REVOKED = "SESSION_REVOKED",
  ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED",
  GROUP_UPDATED = "GROUP_UPDATED",
  GROUP_MEMBERS_ADDED = "GROUP_MEMBERS_ADDED",
  GROUP_MEMBER_REMOVED = "GROUP_MEMBER_REMOVED",
  GROUP_ROLE_CHANGED = "GROUP_ROLE_CHANGED",
  GROUP_DEACTIVATED = "GROUP_DEACTIVATED",
}
registerEnumType(SecurityEventType, { name: "SecurityEventType" });

@ObjectType("SecurityEvent", { description: "An entry of the viewer's security log." })
@index({ user_id: 1, created_at: -1, _id: -1 })
@index({ expires_at: 1 }, { expireAfterSeconds: 0 })
@modelOptions({ schemaOptions: { collection: "security_events", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class SecurityEvent {
  readonly _id!: Types.ObjectId;

  @Field(() => ID)
  readonly id!: string;

  @prop({ type: () => Types.ObjectId, default: null })
  user_id!: Types.ObjectId | null;

  @Field(() => SecurityEventType)
  @prop({ type: String, required: true, enum: SecurityEventType })
  type!: SecurityEventType;

  @Field(() => String, { nullable: true, description: "The client's address, as TRUST_PROXY allows to know it." })
  @prop({ type: String, default: null })
  ip!: string | null;

  @Field(() => JSONScalar, { nullable: true, description: "What the event was about: a group id, target users, a session id, a reason." })
  @prop({ type: Object, default: null, allowMixed: Severity.ALLOW })
  details!: Record<string, unknown> | null;

  @prop({ type: Date, required: true })
  expires_at!: Date;

  @Field({ name: "createdAt" })
  created_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    SecurityEvent: typeof SecurityEvent;
  }
}
