/**
 * A conversation as events carry it: the allocation state and every member's watermarks, so a
 * subscriber computes its own unread count and receipts without reading the database.
 */
import type { Conversation, ConversationMember } from "./conversation.entity.js";

export interface MemberMarks {
  userId: string;
  readSeq: number;
  deliveredSeq: number;
  sharedReadSeq: number;
  joinedAt: string;
  // The member's own list state, present only when set (see ConversationMember).
  mutedUntil?: string;
  archived?: true;
  pinnedAt?: string;
  markedUnread?: true;
}

export interface PinView {
  messageId: string;
  pinnedBy: string;
  pinnedAt: string;
}

export interface ConversationSnapshot {
  id: string;
  kind: "direct" | "group";
  lastSeq: number;
  lastMessageId: string | null;
  updatedAt: string;
  members: MemberMarks[];
  /** Pinned messages, oldest pin first; absent when none. */
  pins?: PinView[];
}

export function snapshotOf(c: Conversation): ConversationSnapshot {
  return {
    id: c._id.toHexString(),
    kind: c.kind,
    lastSeq: c.last_seq,
    lastMessageId: c.last_message_id ? c.last_message_id.toHexString() : null,
    updatedAt: new Date(c.updated_at).toISOString(),
    members: c.members.map((m) => ({
      userId: m.user_id.toHexString(),
      readSeq: m.read_seq,
      deliveredSeq: m.delivered_seq,
      sharedReadSeq: m.shared_read_seq,
      joinedAt: new Date(m.joined_at).toISOString(),
      ...memberStateOf(m),
    })),
    ...(c.pinned_messages?.length
      ? {
          pins: c.pinned_messages.map((p) => ({
            messageId: p.message_id.toHexString(),
            pinnedBy: p.pinned_by.toHexString(),
            pinnedAt: new Date(p.pinned_at).toISOString(),
          })),
        }
      : {}),
  };
}

/** Only the state fields that are set: most members have none. */
function memberStateOf(m: ConversationMember): Partial<MemberMarks> {
  const state: Partial<MemberMarks> = {};
  if (m.muted_until) state.mutedUntil = new Date(m.muted_until).toISOString();
  if (m.archived) state.archived = true;
  if (m.pinned_at) state.pinnedAt = new Date(m.pinned_at).toISOString();
  if (m.marked_unread) state.markedUnread = true;
  return state;
}

export function marksOf(c: ConversationSnapshot, userId: string): MemberMarks | undefined {
  return c.members.find((m) => m.userId === userId);
}
