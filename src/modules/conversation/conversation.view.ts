/**
 * A conversation as events carry it: the allocation state and every member's watermarks, so a
 * subscriber computes its own unread count and receipts without reading the database.
 */
import type { Conversation } from "./conversation.entity.js";

export interface MemberMarks {
  userId: string;
  readSeq: number;
  deliveredSeq: number;
  sharedReadSeq: number;
  joinedAt: string;
}

export interface ConversationSnapshot {
  id: string;
  kind: "direct" | "group";
  lastSeq: number;
  lastMessageId: string | null;
  updatedAt: string;
  members: MemberMarks[];
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
    })),
  };
}

export function marksOf(c: ConversationSnapshot, userId: string): MemberMarks | undefined {
  return c.members.find((m) => m.userId === userId);
}
