/**
 * The data `bench:sync` starts from: a viewer with CONVERSATIONS conversations (one in five a
 * group of the viewer and four peers, the others direct), each with three messages (two from
 * peers, one from the viewer) sent through the service as in production; then what the viewer's
 * client holds when it goes offline, read through the API: the `changes(null)` cursor, and per
 * conversation the messages it has and the history cursor of the last one (what a client that
 * pages history keeps to continue from).
 */
import type { Database } from "../src/database.js";
import type { AppServer } from "../src/server.js";
import { benchUsers } from "./common.js";

/** The message fields both catch-up clients select (as a chat screen shows a message). */
export const MESSAGE_FIELDS = `id conversationId seq content isDeleted editedAt editHistory { content } reactions { emoji count viewerReacted }
  replyTo { id content isDeleted } sender { id username }`;
/** The conversation fields both clients select (as a conversation list shows one; more and the list passes MAX_QUERY_COST). */
export const CONVERSATION_FIELDS = `id lastSeq unreadCount unreadMentionCount readSeq deliveredSeq mutedUntil isArchived isPinned isMarkedUnread
  lastMessage { id } ... on GroupConversation { group { name } }`;

export interface HeldMessage {
  id: string;
  seq: number;
  content: string | null;
  editHistory: Array<{ content: string }>;
  reactions: Array<{ emoji: string; count: number }>;
  [field: string]: unknown;
}

export interface SyncConversation {
  id: string;
  kind: "direct" | "group";
  /** The direct peer's id, or the group id (which is the conversation id). */
  target: string;
  /** Indexes into `peers` of the members other than the viewer. */
  peers: number[];
}

/** What the viewer's client holds when it goes offline; each catch-up client starts from a copy. */
export interface OfflineState {
  /** The `changes(null)` cursor. */
  cursor: string;
  conversations: Map<string, { lastSeq: number; endCursor: string; messages: Map<string, HeldMessage> }>;
}

export interface SyncFixture {
  viewerId: string;
  viewerToken: string;
  peers: Array<{ id: string; token: string }>;
  conversations: SyncConversation[];
  /** Messages from peers the viewer already has: the targets of the older edits and reactions. */
  older: Array<{ id: string; conversationId: string; peer: number }>;
  offline: OfflineState;
}

export const GROUP_SIZE = 4;

export async function gqlRequest<T>(port: number, token: string, query: string, variables: Record<string, unknown>): Promise<{ data: T; bytes: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const body = JSON.parse(text) as { data?: T; errors?: Array<{ message: string }> };
  if (res.status !== 200 || body.errors || !body.data) throw new Error(`graphql ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
  return { data: body.data, bytes: Buffer.byteLength(text) };
}

export async function buildSyncFixture(db: Database, server: AppServer, port: number, conversations: number): Promise<SyncFixture> {
  const groups = Math.round(conversations / 5);
  const directs = conversations - groups;
  // One peer per direct conversation; the groups take their members from the same peers.
  const { users, tokens } = await benchUsers(db, server.services.tokens, "sync", directs + 1);
  const viewer = users[0]._id.toHexString();
  const peers = users.slice(1).map((u, i) => ({ id: u._id.toHexString(), token: tokens[i + 1] }));
  const messages = server.services.messages;

  const convs: SyncConversation[] = [];
  for (let i = 0; i < directs; i++) convs.push({ id: "", kind: "direct", target: peers[i].id, peers: [i] });
  for (let g = 0; g < groups; g++) {
    const members = Array.from({ length: GROUP_SIZE }, (_, k) => (g * GROUP_SIZE + k) % peers.length);
    const group = await server.services.groups.create(viewer, { name: `sync group ${g}`, memberIds: members.map((m) => peers[m].id) });
    convs.push({ id: group._id.toHexString(), kind: "group", target: group._id.toHexString(), peers: members });
  }

  // Three messages each before the viewer goes offline: two from peers, one from the viewer.
  const older: SyncFixture["older"] = [];
  for (const [i, c] of convs.entries()) {
    for (let k = 0; k < 3; k++) {
      const fromViewer = k === 1;
      const peer = c.peers[k % c.peers.length];
      const sender = fromViewer ? viewer : peers[peer].id;
      const clientMessageId = `pre-${i}-${k}`;
      const view =
        c.kind === "direct"
          ? await messages.sendDirect(sender, { recipientId: fromViewer ? c.target : viewer, content: `before ${i}.${k}`, clientMessageId })
          : await messages.sendGroup(sender, { groupId: c.target, content: `before ${i}.${k}`, clientMessageId });
      c.id = view.conversationId;
      if (!fromViewer) older.push({ id: view.id, conversationId: view.conversationId, peer });
    }
  }

  // What the client holds: the changes(null) answer and, per conversation, its history cursor.
  const full = await gqlRequest<{
    changes: { cursor: string; conversations: Array<{ conversation: { id: string; lastSeq: number }; messages: HeldMessage[] }> };
  }>(port, tokens[0], `query { changes(since: null) { cursor conversations { conversation { id lastSeq } messages { ${MESSAGE_FIELDS} } } } }`, {});
  const offline: OfflineState = { cursor: full.data.changes.cursor, conversations: new Map() };
  for (const c of full.data.changes.conversations) {
    const last = await gqlRequest<{ messages: { pageInfo: { endCursor: string } } }>(
      port,
      tokens[0],
      `query($c: ID!) { messages(conversationId: $c, last: 1) { pageInfo { endCursor } } }`,
      { c: c.conversation.id },
    );
    offline.conversations.set(c.conversation.id, {
      lastSeq: c.conversation.lastSeq,
      endCursor: last.data.messages.pageInfo.endCursor,
      messages: new Map(c.messages.map((m) => [m.id, m])),
    });
  }
  if (offline.conversations.size !== convs.length) throw new Error(`changes(null) gave ${offline.conversations.size} conversations, expected ${convs.length}`);
  return { viewerId: viewer, viewerToken: tokens[0], peers, conversations: convs, older, offline };
}

/** A copy of the offline state, so each client run starts from the same one. */
export function copyOffline(s: OfflineState): OfflineState {
  return {
    cursor: s.cursor,
    conversations: new Map([...s.conversations].map(([id, c]) => [id, { lastSeq: c.lastSeq, endCursor: c.endCursor, messages: new Map(c.messages) }])),
  };
}
