/**
 * A user: one class is both the typegoose model (collection `users`, snake_case as in seed 004)
 * and the GraphQL type (camelCase names). Secrets (`password`, `password_history`) have `@prop`
 * without `@Field`, so they can never be selected.
 */
import { index, modelOptions, prop, Severity } from "@typegoose/typegoose";
import type { Types } from "mongoose";
import { Field, ObjectType } from "type-graphql";
import { Node } from "../node/node.interface.js";
import { DEFAULT_PRIVACY, GroupAddPolicy, Visibility } from "./privacy.js";

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

  // Privacy (extra fields beside seed 004's three; documents written before them read as the defaults, see privacyOf).
  @Field(() => Visibility, { name: "phoneNumberVisibility", description: "Who sees phoneNumber. Default CONTACTS." })
  @prop({ type: String, enum: Visibility, default: DEFAULT_PRIVACY.phone_number_visibility })
  phone_number_visibility!: Visibility;

  @Field(() => Visibility, { name: "lastSeenVisibility", description: "Who sees lastSeen and presence. Default CONTACTS." })
  @prop({ type: String, enum: Visibility, default: DEFAULT_PRIVACY.last_seen_visibility })
  last_seen_visibility!: Visibility;

  @Field(() => Visibility, { name: "profilePictureVisibility", description: "Who sees profilePicture. Default CONTACTS." })
  @prop({ type: String, enum: Visibility, default: DEFAULT_PRIVACY.profile_picture_visibility })
  profile_picture_visibility!: Visibility;

  @Field(() => GroupAddPolicy, {
    name: "groupAddPolicy",
    description: "Who may add this user to groups directly; others send an invitation. Default EVERYONE.",
  })
  @prop({ type: String, enum: GroupAddPolicy, default: DEFAULT_PRIVACY.group_add_policy })
  group_add_policy!: GroupAddPolicy;
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

  /** Resolved by UserResolver, by the owner's phoneNumberVisibility. */
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

  /**
   * Moves after every change of the user's contacts, blocks or incoming requests (contact.service),
   * so changes(since) tells whether to send them again. Internal: no field. Absent until then.
   */
  @prop({ type: Number })
  contacts_rev?: number;

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

declare module "../../common/database.js" {
  interface ModelClasses {
    User: typeof User;
  }
}
