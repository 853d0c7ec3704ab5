/**
 * A conversation (collection `conversations`, beside the seed): one per direct pair (unique
 * `direct_key` of the two sorted ids) or per group (same `_id` as the group). It allocates
 * `seq` (atomic $inc of `last_seq`) and holds each member's watermarks, so unread counts are
 * `last_seq - read_seq` and receipts never need a read of every message.
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";

export class ConversationMember {
  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  /** Highest seq this member has read (sending a message reads everything before it). */
  @prop({ type: Number, required: true, default: 0 })
  read_seq!: number;

  @prop({ type: Number, required: true, default: 0 })
  delivered_seq!: number;

  /** The read watermark others may see: frozen while the member has read receipts off. */
  @prop({ type: Number, required: true, default: 0 })
  shared_read_seq!: number;

  @prop({ type: Date, required: true, default: () => new Date() })
  joined_at!: Date;

  /**
   * The last seq when the member (re-)joined: they may read only what came after (a member
   * removed and added again gets nothing from the time they were out).
   */
  @prop({ type: Number, default: 0 })
  joined_seq!: number;

  // The member's own list state (conversation-state.service.ts). Absent until first set, so
  // member entries and event snapshots of big groups stay small.

  /** Muted until this time (null or past: not muted). */
  @prop({ type: Date })
  muted_until?: Date | null;

  /** Archived: out of the default conversation list until unarchived. */
  @prop({ type: Boolean })
  archived?: boolean;

  /** Pinned to the top of the member's list since this time (null: not pinned). */
  @prop({ type: Date })
  pinned_at?: Date | null;

  /** "Mark as unread": shown as unread until the member's next markRead. */
  @prop({ type: Boolean })
  marked_unread?: boolean;
}

/** A message pinned in the conversation (seen by every member; at most MAX_PINNED_MESSAGES). */
export class ConversationPin {
  @prop({ type: () => Types.ObjectId, required: true })
  message_id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  pinned_by!: Types.ObjectId;

  @prop({ type: Date, required: true })
  pinned_at!: Date;
}

export type ConversationKind = "direct" | "group";

@index({ direct_key: 1 }, { unique: true, partialFilterExpression: { direct_key: { $type: "string" } } })
// Member lookup only: a compound key with updated_at would rewrite one index entry per member on
// every message of a big group; a user's conversations are few enough to sort after the lookup.
@index({ "members.user_id": 1 })
@modelOptions({ schemaOptions: { collection: "conversations", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class Conversation {
  readonly _id!: Types.ObjectId;

  @prop({ type: String, required: true, enum: ["direct", "group"] })
  kind!: ConversationKind;

  /** Direct conversations: "<smaller id>:<larger id>". */
  @prop({ type: String })
  direct_key?: string;

  @prop({ type: () => [ConversationMember], _id: false, default: [] })
  members!: ConversationMember[];

  @prop({ type: Number, required: true, default: 0 })
  last_seq!: number;

  @prop({ type: () => Types.ObjectId, default: null })
  last_message_id!: Types.ObjectId | null;

  /**
   * Moves on every change a member can see (revisions.ts); `changes(since)` compares it with the
   * cursor's. Absent on conversations stored before it existed (read as 0).
   */
  @prop({ type: Number, default: 0 })
  rev!: number;

  /** Pinned messages, oldest pin first (message/message-pin.service.ts). */
  @prop({ type: () => [ConversationPin], _id: false, default: undefined })
  pinned_messages?: ConversationPin[];

  created_at!: Date;
  updated_at!: Date;
}

export function directKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Conversation: typeof Conversation;
  }
}
