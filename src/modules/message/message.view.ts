/**
 * A message as the API hands it out, in queries and in events alike: plain JSON, with the
 * sender's public profile so delivering it to N subscribers needs no read per subscriber.
 */
import type { DirectMessage, GroupMessageDoc } from "./message.entity.js";
import { type UserLike, type UserSnapshot, userSnapshot } from "../user/user.view.js";

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
  /**
   * Reactions by emoji with every reacting user's id (empty once deleted): the event carries
   * them, so `viewerReacted` is computed per subscriber without a read.
   */
  reactions: Array<{ emoji: string; count: number; userIds: string[] }>;
  /** The message this one replies to (resolved through the message loader). */
  replyToId: string | null;
  /** Ids of the users it mentions (empty once deleted). */
  mentionIds: string[];
  createdAt: string;
  updatedAt: string;
  sender?: UserSnapshot;
}

const iso = (d: Date | string | undefined): string => new Date(d ?? 0).toISOString();

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
    content: m.is_deleted ? null : (m.content ?? ""),
    // Absent fields read as the schema's defaults (plain objects, see common/lean.ts).
    messageType: (m.message_type ?? "text").toUpperCase(),
    attachment,
    isDeleted: m.is_deleted === true,
    editedAt: m.edited_at ? new Date(m.edited_at).toISOString() : null,
    editHistory: m.is_deleted ? [] : (m.edit_history ?? []).map((e) => ({ content: e.content, at: iso(e.at) })),
    forwarded: m.forwarded === true,
    reactions: m.is_deleted
      ? []
      : (m.reactions ?? []).filter((r) => r.count > 0).map((r) => ({ emoji: r.emoji, count: r.count, userIds: r.user_ids.map((u) => u.toHexString()) })),
    replyToId: m.reply_to ? m.reply_to.toHexString() : null,
    mentionIds: m.is_deleted ? [] : (m.mentions ?? []).map((u) => u.toHexString()),
    createdAt: iso(m.created_at),
    updatedAt: iso(m.updated_at),
    ...(sender ? { sender: userSnapshot(sender) } : {}),
  };
}
