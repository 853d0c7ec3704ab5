/**
 * Fan-out cost: an event carries what subscribers need, so delivering one group message to N
 * subscribers makes no database read per subscriber. The commands counted while 200
 * subscribers receive a message equal those for 20.
 */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";

const SUB = `subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { id seq content sender { username fullName } ... on GroupMessage { readCount deliveredCount group { name } } } }`;

describe("fan-out without per-subscriber reads", () => {
  let api: TestApi;
  let owner: TestUser;
  let groupId = "";
  const clients: TestWsClient[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    owner = await registerUser(api, "fan_owner", { fullName: "Fan Owner" });
    // 200 members made directly, each with a real session and access token.
    const users = Array.from({ length: 200 }, (_, i) => ({
      _id: new Types.ObjectId(),
      username: `fan${i}`,
      email: `fan${i}@example.com`,
      password: "x",
      search_keys: [`fan${i}`],
    }));
    await api.db.models.User.insertMany(users);
    for (const u of users) {
      const family = new Types.ObjectId().toHexString();
      await api.db.models.Session.create({
        user_id: u._id,
        family_id: family,
        token_hash: new Types.ObjectId().toHexString(),
        expires_at: new Date(Date.now() + 3600_000),
      });
      tokens.push((await api.server.services.tokens.issueAccess({ userId: u._id.toHexString(), sessionId: family })).token);
    }
    const g = await api.gql<{ createGroup: { id: string } }>(
      `mutation($m: [ID!]!) { createGroup(input: { name: "fans", memberIds: $m }) { id } }`,
      { m: users.map((u) => u._id.toHexString()) },
      owner.token,
    );
    groupId = g.data!.createGroup.id;
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  /**
   * Subscribes n clients from the current last seq, then sends a warm-up message every one of
   * them must receive (live or by replay): after it, all are live and nothing is replayed
   * while commands are counted.
   */
  async function subscribers(n: number, all: Array<Queued<{ data?: Record<string, unknown> }>>): Promise<Array<Queued<{ data?: Record<string, unknown> }>>> {
    const lastSeq = (await api.gql<{ conversation: { lastSeq: number } }>(`query($c: ID!) { conversation(id: $c) { lastSeq } }`, { c: groupId }, owner.token))
      .data!.conversation.lastSeq;
    const subs: Array<Queued<{ data?: Record<string, unknown> }>> = [];
    for (let i = 0; i < n; i++) {
      const c = await connectWs(wsUrl(api.url), tokens[clients.length]);
      clients.push(c);
      subs.push(c.subscribe(SUB, { c: groupId, a: lastSeq }));
    }
    await api.gql(`mutation($g: ID!) { sendGroupMessage(input: { groupId: $g, content: "warm-up" }) { id } }`, { g: groupId }, owner.token);
    for (const s of [...all, ...subs]) expect((await s.next(60_000)).data?.messageAdded).toMatchObject({ content: "warm-up" });
    return subs;
  }

  async function deliver(subs: Array<Queued<{ data?: Record<string, unknown> }>>, content: string): Promise<{ count: number; names: string[] }> {
    return countCommands(api, async () => {
      await api.gql(`mutation($g: ID!, $c: String!) { sendGroupMessage(input: { groupId: $g, content: $c }) { id } }`, { g: groupId, c: content }, owner.token);
      const got = await Promise.all(subs.map((s) => s.next()));
      for (const r of got)
        expect(r.data?.messageAdded).toMatchObject({
          content,
          sender: { username: "fan_owner", fullName: "Fan Owner" },
          readCount: 0,
          group: { name: "fans" },
        });
    });
  }

  it("costs the same database commands for 200 subscribers as for 20", async () => {
    const twenty = await subscribers(20, []);
    const small = await deliver(twenty, "to twenty");
    const all = twenty.concat(await subscribers(180, twenty));
    expect(all).toHaveLength(200);
    const big = await deliver(all, "to two hundred");
    expect(big.count).toBe(small.count);
    expect(big.names).toEqual(small.names);
  }, 120_000);
});
