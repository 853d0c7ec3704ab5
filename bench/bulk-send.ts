/**
 * What arrives while the `bench:sync` viewer is offline, through the real API over HTTP (several
 * requests in flight): `messages` new messages from peers (sendMessage / sendGroupMessage with a
 * clientMessageId), spread over the conversations unevenly as chats are (at 200 conversations the
 * busiest gets about 1/27 of them, the quietest a few), mixed with edits and reactions by peers on OLDER messages
 * the viewer already has — the changes history paging cannot see.
 */
import { type SyncFixture, gqlRequest } from "./sync-fixture.js";

export interface Arrivals {
  /** New messages per conversation id. */
  perConversation: Map<string, number>;
  /** Older messages edited (id → new content) and reacted to (id → emoji). */
  edits: Map<string, string>;
  reactions: Map<string, string>;
  seconds: number;
  failed: number;
}

/** mulberry32: the same spread and order for a given seed on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const SEND_DIRECT = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id seq } }`;
const EDIT = `mutation($id: ID!, $c: String!) { editMessage(id: $id, content: $c) { id } }`;
const REACT = `mutation($id: ID!, $e: String!) { addReaction(messageId: $id, emoji: $e) { id } }`;

export async function bulkSend(
  port: number,
  f: SyncFixture,
  opts: { messages: number; edits: number; reactions: number; concurrency: number; seed?: number },
): Promise<Arrivals> {
  const random = prng(opts.seed ?? 15);
  // Conversation at rank r (a random order) gets a share of 1/(1 + r/8).
  const ranked = shuffle([...f.conversations], random);
  const weights = ranked.map((_, r) => 1 / (1 + r / 8));
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.floor((w / total) * opts.messages));
  for (let k = 0, left = opts.messages - counts.reduce((a, b) => a + b, 0); left > 0; k++, left--) counts[k % counts.length]++;

  type Job = { token: string; query: string; variables: Record<string, unknown> };
  const jobs: Job[] = [];
  const perConversation = new Map<string, number>();
  ranked.forEach((c, r) => {
    perConversation.set(c.id, counts[r]);
    for (let k = 0; k < counts[r]; k++) {
      const peer = f.peers[c.peers[k % c.peers.length]];
      const input = { content: `offline ${r}.${k}`, clientMessageId: `off-${c.id}-${k}` };
      jobs.push(
        c.kind === "direct"
          ? { token: peer.token, query: SEND_DIRECT, variables: { i: { ...input, recipientId: f.viewerId } } }
          : { token: peer.token, query: SEND_GROUP, variables: { i: { ...input, groupId: c.target } } },
      );
    }
  });
  const targets = shuffle([...f.older], random);
  if (targets.length < Math.max(opts.edits, opts.reactions)) throw new Error(`only ${targets.length} older messages for ${opts.edits} edits`);
  const edits = new Map<string, string>();
  const reactions = new Map<string, string>();
  for (const m of targets.slice(0, opts.edits)) {
    const content = `edited while offline ${m.id}`;
    edits.set(m.id, content);
    jobs.push({ token: f.peers[m.peer].token, query: EDIT, variables: { id: m.id, c: content } });
  }
  for (const m of targets.slice(targets.length - opts.reactions)) {
    reactions.set(m.id, "👍");
    jobs.push({ token: f.peers[m.peer].token, query: REACT, variables: { id: m.id, e: "👍" } });
  }
  // Everything in a random order: sends, edits and reactions interleave as they would.
  const order = shuffle(
    jobs.map((_, i) => i),
    random,
  );
  let next = 0;
  let failed = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < order.length) {
        const job = jobs[order[next++]];
        try {
          await gqlRequest(port, job.token, job.query, job.variables);
        } catch (err) {
          if (failed++ < 3) console.log(`bulk send: ${String(err)}`);
        }
      }
    }),
  );
  return { perConversation, edits, reactions, seconds: (performance.now() - start) / 1000, failed };
}
