/**
 * The two catch-up clients `bench:sync` compares, each starting from the same offline state
 * (sync-fixture.ts) and counting its requests and response bytes:
 *
 *   changes  `changes(since: cursor, limitPerConversation)` until an answer with nothing in it
 *            (the second call, as nothing changes meanwhile); each answer applied as
 *            replacements by id. Where a conversation has `hasMore` (more new messages than the
 *            limit), the gap between what it held and the first new message returned is paged
 *            with `messages(after: <its history cursor>, first: PAGE)`: a changes message has no
 *            history cursor, so it pages forward from the one it kept, not `before:` back.
 *   paging   what a client without `changes` does: the conversation list (`conversations(first:
 *            50)`, every page), then for each conversation whose lastSeq passed what it holds,
 *            `messages(after: <its history cursor>, first: PAGE)` until no next page.
 *
 * History pages run `concurrency` at a time in both. Both select the same message and
 * conversation fields; changes also gets receipts (the paging client has no other way to them
 * than one more request per conversation, which it does not make).
 */
import { CONVERSATION_FIELDS, type HeldMessage, MESSAGE_FIELDS, type OfflineState, copyOffline, gqlRequest } from "./sync-fixture.js";

export interface ClientRun {
  seconds: number;
  requests: number;
  bytes: number;
  /** What the client holds at the end. */
  state: OfflineState;
  /** changes only: calls of changes, conversations with hasMore. */
  changesCalls?: number;
  hasMore?: number;
}

const CHANGES = `query($s: String, $l: Int) { changes(since: $s, limitPerConversation: $l) {
  cursor full removedConversationIds
  conversations { hasMore hiddenMessageIds conversation { ${CONVERSATION_FIELDS} } messages { ${MESSAGE_FIELDS} } receipts { user { id } deliveredSeq readSeq } }
  contacts { user { id } status isFavorite notes }
  contactRequests { from { id } }
} }`;
const HISTORY = `query($c: ID!, $a: String, $n: Int) { messages(conversationId: $c, after: $a, first: $n) {
  edges { node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const LIST = `query($a: String) { conversations(first: 50, after: $a) { edges { node { ${CONVERSATION_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

interface Changes {
  cursor: string;
  removedConversationIds: string[];
  conversations: Array<{ hasMore: boolean; hiddenMessageIds: string[]; conversation: { id: string; lastSeq: number }; messages: HeldMessage[] }>;
}
interface HistoryPage {
  messages: { edges: Array<{ node: HeldMessage }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

/** Requests and response bytes of one client. */
class Meter {
  requests = 0;
  bytes = 0;
  constructor(
    private readonly port: number,
    private readonly token: string,
  ) {}

  async call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const { data, bytes } = await gqlRequest<T>(this.port, this.token, query, variables);
    this.requests++;
    this.bytes += bytes;
    return data;
  }
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

type Held = OfflineState["conversations"] extends Map<string, infer V> ? V : never;

function holding(state: OfflineState, id: string): Held {
  let held = state.conversations.get(id);
  if (!held) {
    held = { lastSeq: 0, endCursor: "", messages: new Map() };
    state.conversations.set(id, held);
  }
  return held;
}

/**
 * Pages `messages(after:)` from the held history cursor until `untilSeq` is held (or no next
 * page), keeping each message and moving the cursor on.
 */
async function pageForward(meter: Meter, id: string, held: Held, page: number, untilSeq = Infinity): Promise<void> {
  let reached = held.lastSeq;
  for (;;) {
    const want = Number.isFinite(untilSeq) ? Math.min(page, untilSeq - reached) : page;
    if (want <= 0) return;
    const h = await meter.call<HistoryPage>(HISTORY, { c: id, a: held.endCursor || null, n: want });
    for (const e of h.messages.edges) {
      held.messages.set(e.node.id, e.node);
      reached = Math.max(reached, e.node.seq);
    }
    if (h.messages.pageInfo.endCursor) held.endCursor = h.messages.pageInfo.endCursor;
    if (!h.messages.pageInfo.hasNextPage) return;
  }
}

export async function changesClient(
  port: number,
  token: string,
  offline: OfflineState,
  opts: { limit: number; page: number; concurrency: number },
): Promise<ClientRun> {
  const meter = new Meter(port, token);
  const state = copyOffline(offline);
  const start = performance.now();
  let calls = 0;
  // Gaps left by hasMore: page from what was held up to the first new message returned.
  const gaps: Array<{ id: string; untilSeq: number; lastSeq: number }> = [];
  for (;;) {
    const ch = (await meter.call<{ changes: Changes }>(CHANGES, { s: state.cursor, l: opts.limit })).changes;
    calls++;
    state.cursor = ch.cursor;
    if (ch.conversations.length === 0 && ch.removedConversationIds.length === 0) break;
    for (const id of ch.removedConversationIds) state.conversations.delete(id);
    for (const c of ch.conversations) {
      const held = holding(state, c.conversation.id);
      if (c.hasMore) {
        const firstNew = Math.min(...c.messages.filter((m) => m.seq > held.lastSeq).map((m) => m.seq));
        gaps.push({ id: c.conversation.id, untilSeq: firstNew - 1, lastSeq: c.conversation.lastSeq });
      }
      for (const m of c.messages) held.messages.set(m.id, m);
      for (const id of c.hiddenMessageIds) held.messages.delete(id);
      // lastSeq stays what the history cursor stands at until the gap is paged.
      if (!c.hasMore) held.lastSeq = c.conversation.lastSeq;
    }
  }
  await pool(gaps, opts.concurrency, async ({ id, untilSeq, lastSeq }) => {
    const held = holding(state, id);
    await pageForward(meter, id, held, opts.page, untilSeq);
    held.lastSeq = lastSeq;
  });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, requests: meter.requests, bytes: meter.bytes, state, changesCalls: calls, hasMore: gaps.length };
}

export async function pagingClient(port: number, token: string, offline: OfflineState, opts: { page: number; concurrency: number }): Promise<ClientRun> {
  const meter = new Meter(port, token);
  const state = copyOffline(offline);
  const start = performance.now();
  const listed: Array<{ id: string; lastSeq: number }> = [];
  let after: string | null = null;
  for (;;) {
    type List = { conversations: { edges: Array<{ node: { id: string; lastSeq: number } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const l: List = await meter.call<List>(LIST, { a: after });
    listed.push(...l.conversations.edges.map((e) => e.node));
    if (!l.conversations.pageInfo.hasNextPage) break;
    after = l.conversations.pageInfo.endCursor;
  }
  const behind = listed.filter((c) => c.lastSeq > (state.conversations.get(c.id)?.lastSeq ?? 0));
  await pool(behind, opts.concurrency, async (c) => {
    const held = holding(state, c.id);
    await pageForward(meter, c.id, held, opts.page);
    held.lastSeq = c.lastSeq;
  });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, requests: meter.requests, bytes: meter.bytes, state };
}

/** Where two clients' message sets differ (ids per conversation, and each message's seq and content), or null. */
export function messageDifference(a: OfflineState, b: OfflineState, older: ReadonlySet<string>): string | null {
  const problems: string[] = [];
  const ids = new Set([...a.conversations.keys(), ...b.conversations.keys()]);
  for (const id of ids) {
    const x = a.conversations.get(id)?.messages ?? new Map<string, HeldMessage>();
    const y = b.conversations.get(id)?.messages ?? new Map<string, HeldMessage>();
    const onlyX = [...x.keys()].filter((k) => !y.has(k));
    const onlyY = [...y.keys()].filter((k) => !x.has(k));
    if (onlyX.length || onlyY.length) problems.push(`conversation ${id}: ${onlyX.length} messages only in changes, ${onlyY.length} only in paging`);
    for (const [k, m] of x) {
      const n = y.get(k);
      // Older messages edited offline differ by design (paging cannot see those edits).
      if (n && !older.has(k) && (n.seq !== m.seq || n.content !== m.content))
        problems.push(`message ${k}: seq/content ${m.seq}/${m.content} vs ${n.seq}/${n.content}`);
    }
  }
  return problems.length ? `${problems.length} differences, first: ${problems.slice(0, 3).join("; ")}` : null;
}

/** Messages held in all. */
export function heldCount(s: OfflineState): number {
  let n = 0;
  for (const c of s.conversations.values()) n += c.messages.size;
  return n;
}

/** How many of the older edits and reactions a client's final state shows. */
export function olderSeen(s: OfflineState, edits: Map<string, string>, reactions: Map<string, string>): { edits: number; reactions: number } {
  const all = new Map<string, HeldMessage>();
  for (const c of s.conversations.values()) for (const [id, m] of c.messages) all.set(id, m);
  let e = 0;
  let r = 0;
  for (const [id, content] of edits) if (all.get(id)?.content === content) e++;
  for (const [id, emoji] of reactions) if (all.get(id)?.reactions.some((x) => x.emoji === emoji)) r++;
  return { edits: e, reactions: r };
}
