/**
 * Stored messages, true to seed 004: `messages` (direct) and `group_messages`, plus the fields
 * delivery needs (`conversation_id`, `seq`, `client_message_id`, `edited_at`). `status` and
 * `read_by` are kept current from the conversation's watermarks.
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";

export enum MessageKind {
  TEXT = "text",
  IMAGE = "image",
  AUDIO = "audio",
  VIDEO = "video",
  DOCUMENT = "document",
}

export class AttachmentRef {
  /** Seed 004's field: a Media id. */
  @prop({ type: () => Types.ObjectId })
  media_id?: Types.ObjectId;

  /** Documents (non-media uploads) point at `files`. */
  @prop({ type: () => Types.ObjectId })
  file_id?: Types.ObjectId;
}

/** An earlier content of an edited message (`edit_history`, oldest first, capped). */
export class EditEntry {
  @prop({ type: String, required: true })
  content!: string;

  /** When this content was written: the message's creation for the first, an earlier edit's time after. */
  @prop({ type: Date, required: true })
  at!: Date;
}

/**
 * One emoji's reactions on a message (`reactions`, in the order each emoji was first used):
 * who reacted, in order, and how many. `count` is kept by the same atomic update that adds or
 * removes the user (reaction.service.ts), so it always equals `user_ids.length`.
 */
export class ReactionEntry {
  @prop({ type: String, required: true })
  emoji!: string;

  @prop({ type: () => [Types.ObjectId], default: [] })
  user_ids!: Types.ObjectId[];

  @prop({ type: Number, required: true })
  count!: number;
}

/** The fields both kinds of message store. */
class MessageFields {
  readonly _id!: Types.ObjectId;

  /** For group messages, the group's conversation (same id as the group). */
  @prop({ type: () => Types.ObjectId, required: true })
  conversation_id!: Types.ObjectId;

  @prop({ type: Number, required: true })
  seq!: number;

  @prop({ type: () => Types.ObjectId, required: true })
  sender_id!: Types.ObjectId;

  /** Empty once deleted (seed 004 requires a string). */
  @prop({ type: String, default: "" })
  content!: string;

  @prop({ type: String, enum: MessageKind, required: true, default: MessageKind.TEXT })
  message_type!: MessageKind;

  @prop({ type: () => AttachmentRef, _id: false, default: null })
  attachment!: AttachmentRef | null;

  @prop({ type: Boolean, required: true, default: false })
  is_deleted!: boolean;

  @prop({ type: String })
  client_message_id?: string;

  @prop({ type: Date, default: null })
  edited_at!: Date | null;

  /**
   * Contents before each edit, oldest first, at most EDIT_HISTORY_CAP (message-edit.service.ts).
   * Absent until the first edit (default undefined: unedited messages store nothing); cleared
   * by a delete.
   */
  @prop({ type: () => [EditEntry], _id: false, default: undefined })
  edit_history?: EditEntry[];

  /**
   * Users who hid this message for themselves (hideMessage): their history pages leave it out.
   * Never shown to anyone; absent until the first hide.
   */
  @prop({ type: () => [Types.ObjectId], default: undefined })
  hidden_for?: Types.ObjectId[];

  /** Set (true) on a message made by forwardMessage; absent otherwise. */
  @prop({ type: Boolean })
  forwarded?: boolean;

  /** Reactions grouped by emoji (at most MAX_DISTINCT_REACTIONS); absent until the first one. */
  @prop({ type: () => [ReactionEntry], _id: false, default: undefined })
  reactions?: ReactionEntry[];

  /** The message this one replies to (same conversation, checked at send time); absent otherwise. */
  @prop({ type: () => Types.ObjectId })
  reply_to?: Types.ObjectId;

  /** Users this message mentions (members, checked at send time); absent when none. */
  @prop({ type: () => [Types.ObjectId], default: undefined })
  mentions?: Types.ObjectId[];

  /**
   * The conversation's rev of this message's last change (its send, an edit, a delete, a
   * reaction, a hide: conversation/revisions.ts); `changes(since)` finds changed messages by it.
   */
  @prop({ type: Number })
  rev?: number;

  created_at!: Date;
  updated_at!: Date;
}

@index({ conversation_id: 1, seq: 1 }, { unique: true })
@index({ sender_id: 1, client_message_id: 1 }, { unique: true, partialFilterExpression: { client_message_id: { $type: "string" } } })
@index({ content: "text" })
// Download access: "can the viewer read a message carrying this upload?"
@index({ "attachment.media_id": 1 }, { sparse: true })
@index({ "attachment.file_id": 1 }, { sparse: true })
// unreadMentionCount: a member's mentions after their read mark, per conversation (mention.service.ts).
@index({ mentions: 1, conversation_id: 1, seq: 1 }, { sparse: true })
// changes(since): a conversation's messages changed after a rev; and the replies to a changed message.
@index({ conversation_id: 1, rev: 1 })
@index({ reply_to: 1 }, { sparse: true })
@modelOptions({ schemaOptions: { collection: "messages", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class DirectMessage extends MessageFields {
  @prop({ type: () => Types.ObjectId, required: true })
  recipient_id!: Types.ObjectId;

  @prop({ type: String, enum: ["sent", "delivered", "read"], required: true, default: "sent" })
  status!: "sent" | "delivered" | "read";
}

@index({ conversation_id: 1, seq: 1 }, { unique: true })
@index({ sender_id: 1, client_message_id: 1 }, { unique: true, partialFilterExpression: { client_message_id: { $type: "string" } } })
@index({ content: "text" })
@index({ "attachment.media_id": 1 }, { sparse: true })
@index({ "attachment.file_id": 1 }, { sparse: true })
@index({ mentions: 1, conversation_id: 1, seq: 1 }, { sparse: true })
@index({ conversation_id: 1, rev: 1 })
@index({ reply_to: 1 }, { sparse: true })
@modelOptions({ schemaOptions: { collection: "group_messages", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class GroupMessageDoc extends MessageFields {
  @prop({ type: () => Types.ObjectId, required: true })
  group_id!: Types.ObjectId;

  /** Members (other than the sender) who read it. */
  @prop({ type: () => [Types.ObjectId], default: [] })
  read_by!: Types.ObjectId[];
}

declare module "../../common/database.js" {
  interface ModelClasses {
    DirectMessage: typeof DirectMessage;
    GroupMessage: typeof GroupMessageDoc;
  }
}
