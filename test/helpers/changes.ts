/**
 * A client of `changes(since)` as the README describes it: it keeps conversations, their
 * messages and receipts, and the contact lists, and applies each answer as replacements by id.
 * The catch-up tests compare what such a client holds with the truth read another way (the
 * conversation list, history pages, the stored watermarks).
 */
import type { TestApi } from "./api.js";
import type { TestUser } from "./users.js";
import { ok } from "./social.js";

export const MESSAGE_FIELDS = `id conversationId seq content isDeleted forwarded editHistory { content } reactions { emoji count viewerReacted }
  replyTo { id content isDeleted } mentions { id }`;
export const CONVERSATION_FIELDS = `id lastSeq unreadCount unreadMentionCount readSeq deliveredSeq mutedUntil isArchived isPinned isMarkedUnread
  lastMessage { id } pinnedMessages { id } ... on GroupConversation { group { name } }`;

export const CHANGES = `query($s: String, $l: Int) { changes(since: $s, limitPerConversation: $l) {
  cursor full removedConversationIds
  conversations { hasMore hiddenMessageIds conversation { ${CONVERSATION_FIELDS} } messages { ${MESSAGE_FIELDS} } receipts { user { id } deliveredSeq readSeq } }
  contacts { user { id } status isFavorite notes }
  contactRequests { from { id } }
} }`;

export type Msg = Record<string, unknown> & { id: string; seq: number };
export type Conv = Record<string, unknown> & { id: string };
export interface Receipt {
  user: { id: string };
  deliveredSeq: number;
  readSeq: number;
}
export interface ContactRow {
  user: { id: string };
  status: string;
  isFavorite: boolean;
  notes: string | null;
}
export interface Changes {
  cursor: string;
  full: boolean;
  removedConversationIds: string[];
  conversations: Array<{ hasMore: boolean; hiddenMessageIds: string[]; conversation: Conv; messages: Msg[]; receipts: Receipt[] }>;
  contacts: ContactRow[] | null;
  contactRequests: Array<{ from: { id: string } }> | null;
}

/** What the client holds. */
export interface SyncState {
  cursor: string;
  conversations: Map<string, { conversation: Conv; messages: Map<string, Msg>; receipts: Map<string, Receipt> }>;
  contacts: ContactRow[];
  requests: string[];
}

export async function fetchChanges(api: TestApi, user: TestUser, since: string | null, limit = 100): Promise<Changes> {
  return (await ok<{ changes: Changes }>(api, CHANGES, { s: since, l: limit }, user)).changes;
}

/** A copy, so a state kept for later is not changed by applying to another. */
export function cloneState(s: SyncState): SyncState {
  return {
    cursor: s.cursor,
    conversations: new Map(
      [...s.conversations].map(([id, c]) => [id, { conversation: c.conversation, messages: new Map(c.messages), receipts: new Map(c.receipts) }]),
    ),
    contacts: [...s.contacts],
    requests: [...s.requests],
  };
}

export function applyChanges(state: SyncState | null, ch: Changes): SyncState {
  const s: SyncState =
    ch.full || !state ? { cursor: ch.cursor, conversations: new Map(), contacts: [], requests: [] } : { ...cloneState(state), cursor: ch.cursor };
  for (const id of ch.removedConversationIds) s.conversations.delete(id);
  for (const c of ch.conversations) {
    const held = s.conversations.get(c.conversation.id) ?? {
      conversation: c.conversation,
      messages: new Map<string, Msg>(),
      receipts: new Map<string, Receipt>(),
    };
    held.conversation = c.conversation;
    for (const m of c.messages) held.messages.set(m.id, m);
    for (const id of c.hiddenMessageIds) held.messages.delete(id);
    held.receipts = new Map(c.receipts.map((r) => [r.user.id, r]));
    s.conversations.set(c.conversation.id, held);
  }
  if (ch.contacts) s.contacts = ch.contacts;
  if (ch.contactRequests) s.requests = ch.contactRequests.map((r) => r.from.id).sort();
  return s;
}

/** A plain, ordered form of a state for toEqual. */
export function normalise(s: SyncState): unknown {
  return {
    conversations: [...s.conversations.values()]
      .map((c) => ({
        conversation: c.conversation,
        messages: [...c.messages.values()].sort((a, b) => a.seq - b.seq),
        receipts: [...c.receipts.values()].sort((a, b) => (a.user.id < b.user.id ? -1 : 1)),
      }))
      .sort((a, b) => (a.conversation.id < b.conversation.id ? -1 : 1)),
    contacts: [...s.contacts].sort((a, b) => (a.user.id < b.user.id ? -1 : 1)),
    requests: [...s.requests].sort(),
  };
}

/**
 * The truth, read without `changes`: both conversation lists, every conversation's history
 * (its newest `limit` messages), the stored watermarks, the contact lists.
 */
export async function truthFor(api: TestApi, user: TestUser, limit = 100): Promise<SyncState> {
  const list = async (archived: boolean) =>
    (
      await ok<{ conversations: { edges: Array<{ node: Conv }> } }>(
        api,
        `query($a: Boolean!) { conversations(first: 20, archived: $a) { edges { node { ${CONVERSATION_FIELDS} } } } }`,
        { a: archived },
        user,
      )
    ).conversations.edges.map((e) => e.node);
  const convs = [...(await list(false)), ...(await list(true))];
  const s: SyncState = { cursor: "", conversations: new Map(), contacts: [], requests: [] };
  for (const conversation of convs) {
    const history = await ok<{ messages: { edges: Array<{ node: Msg }> } }>(
      api,
      `query($c: ID!, $l: Int) { messages(conversationId: $c, last: $l) { edges { node { ${MESSAGE_FIELDS} } } } }`,
      { c: conversation.id, l: limit },
      user,
    );
    const stored = await api.db.models.Conversation.findById(conversation.id).lean();
    const receipts = (stored?.members ?? [])
      .filter((m) => m.user_id.toHexString() !== user.id)
      .map((m) => [m.user_id.toHexString(), { user: { id: m.user_id.toHexString() }, deliveredSeq: m.delivered_seq, readSeq: m.shared_read_seq }] as const);
    s.conversations.set(conversation.id, {
      conversation,
      messages: new Map(history.messages.edges.map((e) => [e.node.id, e.node])),
      receipts: new Map(receipts),
    });
  }
  const contacts = await ok<{ contacts: { edges: Array<{ node: ContactRow }> } }>(
    api,
    `{ contacts(first: 100) { edges { node { user { id } status isFavorite notes } } } }`,
    {},
    user,
  );
  s.contacts = contacts.contacts.edges.map((e) => e.node);
  const requests = await ok<{ incomingContactRequests: { edges: Array<{ node: { from: { id: string } } }> } }>(
    api,
    `{ incomingContactRequests(first: 100) { edges { node { from { id } } } } }`,
    {},
    user,
  );
  s.requests = requests.incomingContactRequests.edges.map((e) => e.node.from.id).sort();
  return s;
}
