/**
 * `npm run bench:send`: message send throughput and latency through the API over real HTTP, on
 * the embedded database (or MONGODB_URI), in two shapes:
 *   group   SEND_SENDERS members of one group send at once (all contend for one conversation),
 *   direct  SEND_SENDERS senders each write into their own direct conversation (no contention).
 * Each sender sends SEND_MESSAGES messages one after another, each with a clientMessageId.
 * Prints messages/s, p50/p99 latency of sendMessage/sendGroupMessage, and checks the stored seqs
 * of every conversation are exactly 1..N (holes are counted and printed).
 *
 * There is no fixed baseline: run it on the commit to compare against and on this one, one
 * after the other on the same machine (the README's delivery section says how it was done).
 */
import "reflect-metadata";
import { Types } from "mongoose";
import { loadConfig } from "../src/config.js";
import { connectDatabase, type Database } from "../src/database.js";
import { createServer } from "../src/server.js";
import { MemoryMailer } from "../src/mail/mailer.js";
import { benchUsers, percentile } from "./common.js";

const SENDERS = Number(process.env.SEND_SENDERS ?? 20);
const MESSAGES = Number(process.env.SEND_MESSAGES ?? 25);

const RELAXED: Record<string, string> = {
  MESSAGE_RATE_LIMIT: "1000000/1",
  STRANGER_MESSAGE_RATE_LIMIT: "1000000/1",
  GROUP_RATE_LIMIT: "1000000/1",
  REGISTER_RATE_LIMIT: "1000000/1",
};

interface Result {
  messages: number;
  seconds: number;
  p50: number;
  p99: number;
  holes: number;
  failed: number;
}

/** Seqs missing from 1..last_seq in the given conversations. */
async function holes(db: Database, conversationIds: Types.ObjectId[], group: boolean): Promise<number> {
  let missing = 0;
  for (const id of conversationIds) {
    const conv = await db.models.Conversation.findById(id, { last_seq: 1 }).lean();
    const model = (group ? db.models.GroupMessage : db.models.DirectMessage) as unknown as typeof db.models.DirectMessage;
    const stored = await model.countDocuments({ conversation_id: id });
    missing += (conv?.last_seq ?? 0) - stored;
  }
  return missing;
}

async function run(
  port: number,
  senders: Array<{ token: string; variables: (k: number) => Record<string, unknown> }>,
  mutation: string,
): Promise<Omit<Result, "holes">> {
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  await Promise.all(
    senders.map(async (s) => {
      for (let k = 0; k < MESSAGES; k++) {
        const t = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${s.token}` },
          body: JSON.stringify({ query: mutation, variables: { i: s.variables(k) } }),
        });
        const body = (await res.json()) as { errors?: unknown };
        if (body.errors) failed++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { messages: senders.length * MESSAGES, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed };
}

const fmt = (name: string, r: Result): string =>
  `${name.padEnd(7)} ${String(r.messages).padStart(5)} msgs  ${(r.messages / r.seconds).toFixed(1).padStart(7)} msg/s  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  holes ${r.holes}  failed ${r.failed}`;

async function main(): Promise<void> {
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: "bench-secret-bench-secret-bench-secret-00", LOG_LEVEL: "silent", PORT: "0", ...RELAXED });
  const db = await connectDatabase({ uri: process.env.MONGODB_URI ?? null, dbName: `bench_send_${Date.now()}` });
  const server = await createServer(config, db, { mailer: new MemoryMailer() });
  const port = await server.listen(0);
  const transactions = (db as { transactions?: boolean }).transactions;
  console.log(
    `send bench: ${SENDERS} senders x ${MESSAGES} messages, database transactions: ${transactions === undefined ? "n/a (older code)" : transactions}`,
  );
  // Senders, and as many recipients for the direct conversations.
  const { users, tokens } = await benchUsers(db, server.services.tokens, "send", SENDERS * 2);
  const group = await server.services.groups.create(users[0]._id.toHexString(), {
    name: "send bench",
    memberIds: users.slice(1, SENDERS).map((u) => u._id.toHexString()),
  });
  const groupId = group._id.toHexString();

  const g = await run(
    port,
    users
      .slice(0, SENDERS)
      .map((_, i) => ({ token: tokens[i], variables: (k: number) => ({ groupId, content: `group ${i}.${k}`, clientMessageId: `g-${i}-${k}` }) })),
    `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id seq } }`,
  );
  const groupResult: Result = { ...g, holes: await holes(db, [group._id], true) };
  console.log(fmt("group", groupResult));

  const d = await run(
    port,
    users.slice(0, SENDERS).map((_, i) => ({
      token: tokens[i],
      variables: (k: number) => ({ recipientId: users[SENDERS + i]._id.toHexString(), content: `direct ${i}.${k}`, clientMessageId: `d-${i}-${k}` }),
    })),
    `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq } }`,
  );
  const directIds = (await db.models.Conversation.find({ kind: "direct" }, { _id: 1 }).lean()).map((c) => c._id);
  const directResult: Result = { ...d, holes: await holes(db, directIds, false) };
  console.log(fmt("direct", directResult));

  await server.stop();
  await db.connection.dropDatabase().catch(() => undefined);
  await db.close();
  if (groupResult.holes || directResult.holes || groupResult.failed || directResult.failed) process.exitCode = 1;
}

await main();
