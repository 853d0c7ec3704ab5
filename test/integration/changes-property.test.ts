/**
 * Issue 15's property of `changes(since)`: random sequences of operations by several users
 * (sends with replies and mentions, edits, deletes, reactions, hides, message pins, receipts,
 * the viewer's mute/archive/pin/unread, joining and leaving a group, renames, contacts and
 * blocks), with the viewer's client syncing now and then. For every cursor taken along the way,
 * the state the client held at that cursor with `changes(cursor)` applied equals the current
 * state read without `changes` (conversation lists, history, stored watermarks, contact lists).
 * Seeded, so a failure names the seed that reproduces it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { befriend, ok } from "../helpers/social.js";
import { applyChanges, cloneState, fetchChanges, normalise, truthFor, type SyncState } from "../helpers/changes.js";

/** mulberry32: small, seeded, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Known {
  id: string;
  sender: TestUser;
  conversationId: string;
}

const STEPS = 90;
const SEEDS = [1, 2];

describe("changes(since) property", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  for (const seed of SEEDS) {
    it(`applying changes(cursor) to the state held at any cursor gives the current state (seed ${seed})`, async () => {
      const random = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
      const [viewer, b, c, d] = await Promise.all(["v", "b", "c", "d"].map((n) => registerUser(api, `${n}_p${seed}`)));
      for (const [x, y] of [
        [c, viewer],
        [b, viewer],
        [b, c],
        [c, d],
      ] as const)
        await befriend(api, x, y);
      const group = async (admin: TestUser, members: TestUser[], name: string) =>
        (
          await ok<{ createGroup: { id: string } }>(
            api,
            `mutation($n: String!, $m: [ID!]!) { createGroup(input: { name: $n, memberIds: $m }) { id } }`,
            { n: name, m: members.map((m) => m.id) },
            admin,
          )
        ).createGroup.id;
      const g1 = await group(b, [viewer, c], `g1-${seed}`);
      const g2 = await group(c, [b, d], `g2-${seed}`);
      const groups: Record<string, TestUser[]> = { [g1]: [b, viewer, c], [g2]: [c, b, d] };
      const admins: Record<string, TestUser> = { [g1]: b, [g2]: c };
      const others = [b, c, d];
      const known: Known[] = [];
      const conversations = new Set<string>([g1, g2]);
      // Refused operations (a block, a right, a cap) are part of the mix; most must succeed.
      let succeeded = 0;
      const run = async (query: string, variables: Record<string, unknown>, user: TestUser) => {
        const res = await api.gql<Record<string, Record<string, unknown>>>(query, variables, user.token);
        if (!res.errors) succeeded++;
        return res;
      };

      const ops: Array<() => Promise<unknown>> = [
        // Direct sends, both ways, sometimes replying or mentioning.
        async () => {
          const other = pick(others);
          const [from, to] = random() < 0.6 ? [other, viewer] : [viewer, other];
          const inConv = known.filter((k) => k.sender === from || k.sender === to).filter((k) => !groups[k.conversationId]);
          const replyToId = inConv.length && random() < 0.3 ? pick(inConv).id : undefined;
          const mentions = random() < 0.2 ? [to.id] : undefined;
          const res = await run(
            `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id conversationId } }`,
            { i: { recipientId: to.id, content: `d${known.length}`, replyToId, mentions } },
            from,
          );
          const m = res.data?.sendMessage as { id: string; conversationId: string } | undefined;
          if (m) {
            known.push({ id: m.id, sender: from, conversationId: m.conversationId });
            conversations.add(m.conversationId);
          }
        },
        async () => {
          const g = pick([g1, g2]);
          const from = pick(groups[g]);
          const mentions = random() < 0.3 ? [pick(groups[g]).id] : undefined;
          const res = await run(
            `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id conversationId } }`,
            { i: { groupId: g, content: `g${known.length}`, mentions } },
            from,
          );
          const m = res.data?.sendGroupMessage as { id: string; conversationId: string } | undefined;
          if (m) known.push({ id: m.id, sender: from, conversationId: m.conversationId });
        },
        async () => {
          if (!known.length) return;
          const k = pick(known);
          await run(`mutation($m: ID!, $c: String!) { editMessage(id: $m, content: $c) { id } }`, { m: k.id, c: `edit ${random().toFixed(4)}` }, k.sender);
        },
        async () => {
          if (known.length && random() < 0.5) await run(`mutation($m: ID!) { deleteMessage(id: $m) { id } }`, { m: pick(known).id }, pick(known).sender);
        },
        async () => {
          if (!known.length) return;
          const verb = random() < 0.7 ? "addReaction" : "removeReaction";
          await run(
            `mutation($m: ID!, $e: String!) { ${verb}(messageId: $m, emoji: $e) { id } }`,
            { m: pick(known).id, e: pick(["👍", "🎉", "❤️"]) },
            pick([viewer, ...others]),
          );
        },
        async () => {
          if (known.length)
            await run(`mutation($m: ID!) { ${random() < 0.7 ? "hideMessage" : "unhideMessage"}(messageId: $m) }`, { m: pick(known).id }, viewer);
        },
        async () => {
          if (!known.length) return;
          const k = pick(known);
          const who = groups[k.conversationId] ? admins[k.conversationId] : pick([viewer, ...others]);
          await run(`mutation($m: ID!) { ${random() < 0.7 ? "pinMessage" : "unpinMessage"}(messageId: $m) { id } }`, { m: k.id }, who);
        },
        async () => {
          const conv = pick([...conversations]);
          const who = pick([viewer, ...others]);
          const verb = random() < 0.5 ? "markRead" : "markDelivered";
          await run(`mutation($c: ID!, $s: Int!) { ${verb}(conversationId: $c, upToSeq: $s) { id } }`, { c: conv, s: Math.floor(random() * 40) }, who);
        },
        async () => {
          const conv = pick([...conversations]);
          const choice = pick([
            ["muteConversation(conversationId: $c, until: $u)", { u: new Date(Date.now() + 3_600_000).toISOString() }],
            ["muteConversation(conversationId: $c, until: null)", {}],
            ["archiveConversation(conversationId: $c)", {}],
            ["unarchiveConversation(conversationId: $c)", {}],
            ["pinConversation(conversationId: $c)", {}],
            ["unpinConversation(conversationId: $c)", {}],
            ["markConversationUnread(conversationId: $c)", {}],
          ] as const);
          const vars = "u" in choice[1] ? "($c: ID!, $u: DateTime)" : "($c: ID!)";
          await run(`mutation${vars} { ${choice[0]} { id } }`, { c: conv, ...choice[1] }, viewer);
        },
        async () => {
          // The viewer joins or leaves g2 (its admin c decides); a group rename.
          if (random() < 0.5) {
            const inG2 = groups[g2].includes(viewer);
            const res = inG2
              ? await run(`mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g: g2, u: viewer.id }, c)
              : await run(`mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, { g: g2, u: [viewer.id] }, c);
            if (!res.errors) groups[g2] = inG2 ? groups[g2].filter((u) => u !== viewer) : [...groups[g2], viewer];
          } else {
            await run(`mutation($g: ID!, $n: String!) { updateGroup(id: $g, input: { name: $n }) { id } }`, { g: g1, n: `g1-${seed}-${known.length}` }, b);
          }
        },
        async () => {
          const [who, other] = random() < 0.5 ? [viewer, d] : [d, viewer];
          const op = pick([
            "requestContact(userId: $u) { id }",
            "acceptContact(userId: $u) { id }",
            "declineContact(userId: $u)",
            "removeContact(userId: $u)",
            "blockUser(userId: $u) { id }",
            "unblockUser(userId: $u)",
            "updateContact(userId: $u, input: { isFavorite: true }) { id }",
          ]);
          await run(`mutation($u: ID!) { ${op} }`, { u: other.id }, who);
        },
      ];

      let state: SyncState = applyChanges(null, await fetchChanges(api, viewer, null));
      const taken: SyncState[] = [cloneState(state)];
      for (let step = 0; step < STEPS; step++) {
        await pick(ops)();
        if (random() < 0.2) {
          state = applyChanges(state, await fetchChanges(api, viewer, state.cursor));
          taken.push(cloneState(state));
        }
      }

      const truth = normalise(await truthFor(api, viewer));
      expect(normalise(applyChanges(null, await fetchChanges(api, viewer, null))), `seed ${seed}: changes(null)`).toEqual(truth);
      for (const [i, held] of taken.entries()) {
        const caughtUp = applyChanges(held, await fetchChanges(api, viewer, held.cursor));
        expect(normalise(caughtUp), `seed ${seed}: cursor ${i} of ${taken.length}`).toEqual(truth);
      }
      // The operations did reach the viewer: messages and more than one cursor.
      expect(known.length).toBeGreaterThan(10);
      expect(succeeded).toBeGreaterThan(STEPS / 2);
      expect(taken.length).toBeGreaterThan(3);
    });
  }
});
