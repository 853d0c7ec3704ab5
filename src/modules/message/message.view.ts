/**
 * A message as the API hands it out, in queries and in events alike: plain JSON, with the
 * sender's public profile so delivering it to N subscribers needs no read per subscriber.
 */
import type { Types } from "mongoose";
import type { DirectMessage, GroupMessageDoc } from "./message.entity.js";
import { type Privacy, privacyOf } from "../user/privacy.js";

/** The public part of a user (what any member may see), in storage shape with string ids. */
export interface UserSnapshot {
  _id: string;
  username: string;
  full_name: string | null;
  bio: string;
  phone_number?: string;
  profile_picture: string | null;
  is_active: boolean;
  last_seen: string;
  created_at: string;
  updated_at: string;
  /**
   * The owner's privacy settings (never exposed as such): the User field resolvers decide per
   * viewer from them, so an event needs no read of the sender per subscriber.
   */
  privacy: Privacy;
}

export interface MessageView {
  kind: "direct" | "group";
  id: string;
  conversationId: string;
  seq: number;
  clientMessageId: string | null;
  senderId: string;
  recipientId: string | null;
  groupId: string | null;
  /** Null once deleted. */
  content: string | null;
  messageType: string;
  attachment: { kind: "media" | "file"; id: string } | null;
  isDeleted: boolean;
  editedAt: string | null;
  /** Earlier contents, oldest first (empty once deleted): carried by events, so no read per subscriber. */
  editHistory: Array<{ content: string; at: string }>;
  forwarded: boolean;
  createdAt: string;
  updatedAt: string;
  sender?: UserSnapshot;
}

interface UserLike {
  _id: Types.ObjectId | string;
  username: string;
  full_name?: string | null;
  bio?: string;
  phone_number?: string;
  profile_picture?: string | null;
  is_active: boolean;
  last_seen?: Date | string;
  created_at: Date | string;
  updated_at: Date | string;
  settings?: Partial<Record<keyof Privacy, unknown>> | null;
}

const iso = (d: Date | string | undefined): string => new Date(d ?? 0).toISOString();

export function userSnapshot(u: UserLike): UserSnapshot {
  return {
    _id: String(u._id),
    username: u.username,
    full_name: u.full_name ?? null,
    bio: u.bio ?? "",
    ...(u.phone_number ? { phone_number: u.phone_number } : {}),
    profile_picture: u.profile_picture ?? null,
    is_active: u.is_active,
    last_seen: iso(u.last_seen),
    created_at: iso(u.created_at),
    updated_at: iso(u.updated_at),
    privacy: privacyOf(u.settings),
  };
}

export function messageView(m: DirectMessage | GroupMessageDoc, sender?: UserLike | null): MessageView {
  const group = "group_id" in m && m.group_id ? m.group_id : null;
  const attachment = m.attachment?.media_id
    ? { kind: "media" as const, id: m.attachment.media_id.toHexString() }
    : m.attachment?.file_id
      ? { kind: "file" as const, id: m.attachment.file_id.toHexString() }
      : null;
  return {
    kind: group ? "group" : "direct",
    id: m._id.toHexString(),
    conversationId: m.conversation_id.toHexString(),
    seq: m.seq,
    clientMessageId: m.client_message_id ?? null,
    senderId: m.sender_id.toHexString(),
    recipientId: "recipient_id" in m && m.recipient_id ? m.recipient_id.toHexString() : null,
    groupId: group ? group.toHexString() : null,
    content: m.is_deleted ? null : m.content,
    messageType: m.message_type.toUpperCase(),
    attachment,
    isDeleted: m.is_deleted,
    editedAt: m.edited_at ? new Date(m.edited_at).toISOString() : null,
    editHistory: m.is_deleted ? [] : (m.edit_history ?? []).map((e) => ({ content: e.content, at: iso(e.at) })),
    forwarded: m.forwarded === true,
    createdAt: iso(m.created_at),
    updatedAt: iso(m.updated_at),
    ...(sender ? { sender: userSnapshot(sender) } : {}),
  };
}
