/**
 * A user: one class is both the typegoose model (collection `users`, snake_case as in seed 004)
 * and the GraphQL type (camelCase names). Secrets (`password`, `password_history`) have `@prop`
 * without `@Field`, so they can never be selected.
 */
import { index, modelOptions, prop, Severity } from "@typegoose/typegoose";
import type { Types } from "mongoose";
import { Field, ObjectType } from "type-graphql";
import { Node } from "../node/node.interface.js";

@ObjectType("UserSettings")
export class UserSettings {
  @Field({ name: "notificationsEnabled" })
  @prop({ type: Boolean, default: true })
  notifications_enabled!: boolean;

  @Field({ name: "readReceiptsEnabled" })
  @prop({ type: Boolean, default: true })
  read_receipts_enabled!: boolean;

  @Field({ name: "typingIndicatorsEnabled" })
  @prop({ type: Boolean, default: true })
  typing_indicators_enabled!: boolean;
}

const CASE_INSENSITIVE = { locale: "en", strength: 2 };

@ObjectType("User", { implements: Node })
@index({ username: 1 }, { unique: true, collation: CASE_INSENSITIVE })
@index({ email: 1 }, { unique: true, collation: CASE_INSENSITIVE })
@index({ phone_number: 1 }, { unique: true, partialFilterExpression: { phone_number: { $type: "string" } } })
@index({ search_keys: 1 })
@modelOptions({
  schemaOptions: { collection: "users", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } },
  options: { allowMixed: Severity.ERROR },
})
export class User extends Node {
  readonly _id!: Types.ObjectId;

  @Field()
  @prop({ type: String, required: true, trim: true })
  username!: string;

  /** Resolved by UserResolver: visible to the user themself only. */
  @prop({ type: String, required: true, trim: true })
  email!: string;

  @prop({ type: String, required: true })
  password!: string;

  @Field(() => String, { name: "fullName", nullable: true })
  @prop({ type: String, default: null })
  full_name!: string | null;

  @Field(() => String, { name: "phoneNumber", nullable: true })
  @prop({ type: String })
  phone_number?: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String, default: "" })
  bio!: string;

  /** A Media id (string, as seed 004 types it). */
  @prop({ type: String, default: null })
  profile_picture!: string | null;

  @prop({ type: Date, required: true, default: () => new Date() })
  last_seen!: Date;

  @Field({ name: "isActive" })
  @prop({ type: Boolean, required: true, default: true })
  is_active!: boolean;

  @prop({ type: () => UserSettings, _id: false, default: () => ({}) })
  settings!: UserSettings;

  @prop({ type: () => [String], default: [] })
  password_history!: string[];

  @prop({ type: Date })
  last_password_change?: Date;

  /** Lower-cased username, full name and its words: searchUsers' prefix match reads this index. */
  @prop({ type: () => [String], default: [] })
  search_keys!: string[];

  @Field({ name: "createdAt" })
  created_at!: Date;

  @Field({ name: "updatedAt" })
  updated_at!: Date;
}

/** The values searchUsers matches by prefix: username, full name, and each word of it. */
export function searchKeys(username: string, fullName: string | null | undefined): string[] {
  const keys = [username.toLowerCase()];
  if (fullName) {
    const name = fullName.trim().toLowerCase();
    keys.push(name, ...name.split(/\s+/));
  }
  return [...new Set(keys.filter(Boolean))];
}
