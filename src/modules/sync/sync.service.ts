/**
 * `changes(since)`: everything that changed for the viewer since a cursor, across all their
 * conversations, in one request — the catch-up of a client that was offline.
 *
 * What changed is found by numbers, never by reading history (conversation/revisions.ts):
 *  1. the viewer's conversations with their `rev` and `last_seq` only (the member index);
 *  2. the ones whose rev passed the cursor's (or that the cursor does not know) are read whole;
 *     the ones in the cursor but no longer the viewer's are `removedConversationIds`;
 *  3. one read per message collection: per changed conversation, the newest messages after the
 *     cursor's seq (at most `limitPerConversation`: past that `hasMore`, and the client pages
 *     history for the gap) and the older messages whose rev passed the cursor's (edits, deletes,
 *     reactions, hides);
 *  4. the viewer's contacts and incoming requests, whole, when their `contacts_rev` moved.
 * So the database commands of a call grow with what changed (and not even with that: steps 2-4
 * are one command each), never with the size of history. A null cursor is the same read with
 * nothing seen: every conversation, its newest messages, the contacts.
 *
 * The next cursor holds the revs and seqs read in step 1. A change committed after that read
 * has a higher rev, so it comes (again) in the next call: a client applies conversations,
 * messages and lists as replacements by id, so a repeat changes nothing.
 */
import mongoose, { Types } from "mongoose";
import type { DocumentType } from "@typegoose/typegoose";
import type { Models } from "../../common/database.js";
import type { Conversation } from "../conversation/conversation.entity.js";
import { type ConversationSnapshot, snapshotOf } from "../conversation/conversation.view.js";
import type { ReceiptEvent } from "../conversation/conversation.events.js";
import { type Contact, ContactStatus } from "../contact/contact.entity.js";
import type { ContactRequestNode } from "../contact/contact.service.js";
import type { DirectMessage, GroupMessageDoc } from "../message/message.entity.js";
import { type MessageView, messageView } from "../message/message.view.js";
import { type SeenConversation, type SyncCursor, decodeSyncCursor, encodeSyncCursor } from "./sync-cursor.js";

export interface ConversationChangesView {
  conversation: ConversationSnapshot;
  /** New and changed messages the viewer can see, in seq order. */
  messages: MessageView[];
  /** Messages the viewer hid (on another device) since the cursor. */
  hiddenMessageIds: string[];
  /** More new messages than the limit: the client pages history before the first one returned. */
  hasMore: boolean;
  /** Every other member's watermarks as the viewer may see them (shared read marks). */
  receipts: ReceiptEvent[];
}

export interface ChangesView {
  cursor: string;
  /** since was null: this is the whole state, not a difference. */
  full: boolean;
  conversations: ConversationChangesView[];
  removedConversationIds: string[];
  /** The viewer's contact entries (blocks included), whole; null when unchanged. */
  contacts: Array<DocumentType<Contact>> | null;
  /** Pending requests to the viewer, whole; null when unchanged. */
  contactRequests: ContactRequestNode[] | null;
}

/** What step 1 reads of each conversation. */
interface Head {
  _id: Types.ObjectId;
  kind: "direct" | "group";
  rev?: number;
  last_seq: number;
}

type StoredMessage = (DirectMessage | GroupMessageDoc) & { hidden_for?: Types.ObjectId[] };

const NOTHING_SEEN: SeenConversation = { rev: 0, seq: 0 };

export class SyncService {
  constructor(private readonly models: Models) {}

  async changes(viewerId: string, since: string | null | undefined, limitPerConversation: number): Promise<ChangesView> {
    const seen: SyncCursor | null = since ? decodeSyncCursor(since) : null;
    const viewer = new Types.ObjectId(viewerId);

    // 1. Direct conversations count once they have a message, as in the conversation list.
    const heads = (await this.models.Conversation.find(
      { "members.user_id": viewer, $or: mongoose.trusted([{ kind: "group" }, { last_seq: mongoose.trusted({ $gt: 0 }) }]) },
      { kind: 1, rev: 1, last_seq: 1 },
    ).lean()) as Head[];
    const user = await this.models.User.findById(viewer, { contacts_rev: 1 }).lean();
    const contactsRev = user?.contacts_rev ?? 0;

    // 2.
    const changed = heads.filter((h) => {
      const was = seen?.conversations.get(h._id.toHexString());
      return !was || (h.rev ?? 0) > was.rev || h.last_seq > was.seq;
    });
    const current = new Set(heads.map((h) => h._id.toHexString()));
    const removedConversationIds = seen ? [...seen.conversations.keys()].filter((id) => !current.has(id)) : [];
    const docs = changed.length
      ? ((await this.models.Conversation.find({ _id: mongoose.trusted({ $in: changed.map((h) => h._id) }) }).lean()) as Conversation[])
      : [];

    // 3.
    const headOf = new Map(changed.map((h) => [h._id.toHexString(), h]));
    const windows = changed.map((h) => ({ head: h, was: seen?.conversations.get(h._id.toHexString()) ?? NOTHING_SEEN }));
    const [direct, group] = await Promise.all([
      this.messagesOf(this.models.DirectMessage as unknown as mongoose.Model<StoredMessage>, windows, "direct", limitPerConversation),
      this.messagesOf(this.models.GroupMessage as unknown as mongoose.Model<StoredMessage>, windows, "group", limitPerConversation),
    ]);
    const byConversation = new Map<string, StoredMessage[]>();
    for (const m of [...direct, ...group]) {
      const id = m.conversation_id.toHexString();
      const list = byConversation.get(id);
      if (list) list.push(m);
      else byConversation.set(id, [m]);
    }

    const conversations = docs.map((doc) => {
      const id = doc._id.toHexString();
      const head = headOf.get(id)!;
      const was = seen?.conversations.get(id) ?? NOTHING_SEEN;
      return this.conversationChanges(viewerId, doc, head, was, byConversation.get(id) ?? [], limitPerConversation, seen !== null);
    });

    // 4.
    const contactsChanged = !seen || contactsRev > seen.contactsRev;
    const [contacts, requests] = contactsChanged
      ? await Promise.all([
          this.models.Contact.find({ user_id: viewer }).sort({ _id: 1 }),
          this.models.Contact.find({ contact_id: viewer, status: ContactStatus.PENDING }, { user_id: 1, created_at: 1 }).sort({ _id: 1 }).lean(),
        ])
      : [null, null];

    // The next cursor: what step 1 read (a later change has a higher rev and comes next time).
    const next: SyncCursor = { contactsRev, conversations: new Map() };
    for (const h of heads) next.conversations.set(h._id.toHexString(), { rev: h.rev ?? 0, seq: h.last_seq });
    return {
      cursor: encodeSyncCursor(next),
      full: seen === null,
      conversations,
      removedConversationIds,
      contacts,
      contactRequests: requests ? requests.map((r) => ({ fromId: r.user_id, createdAt: r.created_at })) : null,
    };
  }

  /**
   * One read of a message collection for every changed conversation of its kind: the new
   * messages (seq after the cursor's, the newest `limit` of them, up to the seq read in step 1)
   * and the older ones changed since (rev after the cursor's). Each clause leads with the
   * conversation id, so each is an index range (conversation_id+seq, conversation_id+rev).
   */
  private async messagesOf(
    model: mongoose.Model<StoredMessage>,
    windows: Array<{ head: Head; was: SeenConversation }>,
    kind: Head["kind"],
    limit: number,
  ): Promise<StoredMessage[]> {
    const clauses: Array<Record<string, unknown>> = [];
    for (const { head, was } of windows) {
      if (head.kind !== kind) continue;
      const from = Math.max(was.seq, head.last_seq - limit);
      if (head.last_seq > from) clauses.push({ conversation_id: head._id, seq: mongoose.trusted({ $gt: from, $lte: head.last_seq }) });
      if (was.seq > 0 && (head.rev ?? 0) > was.rev)
        clauses.push({ conversation_id: head._id, rev: mongoose.trusted({ $gt: was.rev }), seq: mongoose.trusted({ $lte: was.seq }) });
    }
    if (clauses.length === 0) return [];
    return (await model.find(mongoose.trusted({ $or: clauses }) as Record<string, unknown>).lean()) as StoredMessage[];
  }

  private conversationChanges(
    viewerId: string,
    doc: Conversation,
    head: Head,
    was: SeenConversation,
    stored: StoredMessage[],
    limit: number,
    delta: boolean,
  ): ConversationChangesView {
    const snapshot = snapshotOf(doc);
    const messages: MessageView[] = [];
    const hiddenMessageIds: string[] = [];
    stored.sort((a, b) => a.seq - b.seq);
    for (const m of stored) {
      if (m.hidden_for?.some((u) => u.toHexString() === viewerId)) {
        // Hidden before the client ever saw it (a null cursor or a new message): nothing to take back.
        if (delta && m.seq <= was.seq) hiddenMessageIds.push(m._id.toHexString());
        continue;
      }
      messages.push(messageView(m));
    }
    const receipts = snapshot.members
      .filter((m) => m.userId !== viewerId)
      .map((m) => ({ conversationId: snapshot.id, userId: m.userId, deliveredSeq: m.deliveredSeq, readSeq: m.sharedReadSeq }));
    return { conversation: snapshot, messages, hiddenMessageIds, hasMore: head.last_seq - was.seq > limit, receipts };
  }
}

declare module "../../context.js" {
  interface Services {
    sync: SyncService;
  }
}
