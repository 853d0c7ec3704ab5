/**
 * `npm run bench:sync`: a user with SYNC_CONVERSATIONS (200) conversations is offline while
 * SYNC_MESSAGES (5,000) messages arrive from peers through the API (with SYNC_EDITS edits and
 * SYNC_REACTIONS reactions, 250 each, on older messages the user already had); then the time,
 * requests, response bytes and database commands to catch up with `changes(since)` against
 * per-conversation history paging (bench/sync-clients.ts), measured in the same run, SYNC_ROUNDS
 * times each in alternating order. Both clients must end with the same messages (a warning
 * says where they differ). Prints a table, and a verdict line per goal: changes is faster, makes
 * fewer requests and database commands, answers at most 1.5x the bytes (it also carries
 * receipts and every changed conversation's state), and shows every older edit and reaction.
 * BENCH_CPU_PROF=dir writes a CPU profile there.
 */
import "reflect-metadata";
import os from "node:os";
import { loadConfig } from "../src/config.js";
import { BACKGROUND_COMMENT, connectDatabase, type Database } from "../src/database.js";
import { createServer } from "../src/server.js";
import { MemoryMailer } from "../src/mail/mailer.js";
import { respawnWithCpuProfile } from "./common.js";
import { buildSyncFixture } from "./sync-fixture.js";
import { bulkSend } from "./bulk-send.js";
import { type ClientRun, changesClient, heldCount, messageDifference, olderSeen, pagingClient } from "./sync-clients.js";

if (respawnWithCpuProfile()) process.exit(process.exitCode ?? 0);

const CONVERSATIONS = Number(process.env.SYNC_CONVERSATIONS ?? 200);
const MESSAGES = Number(process.env.SYNC_MESSAGES ?? 5000);
const EDITS = Number(process.env.SYNC_EDITS ?? 250);
const REACTIONS = Number(process.env.SYNC_REACTIONS ?? 250);
/** limitPerConversation of changes, and the history page size of both clients. */
const LIMIT = Number(process.env.SYNC_LIMIT ?? 50);
const PAGE = Number(process.env.SYNC_PAGE ?? 50);
/** History requests in flight per client; sends in flight while the user is offline. */
const CLIENT_CONCURRENCY = Number(process.env.SYNC_CLIENT_CONCURRENCY ?? 4);
const SEND_CONCURRENCY = Number(process.env.SYNC_SEND_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.SYNC_ROUNDS ?? 3);

/** Runs `work` counting the driver's commands meanwhile (periodic sweeps excluded). */
async function withCommands<T>(db: Database, work: () => Promise<T>): Promise<{ result: T; commands: number }> {
  let commands = 0;
  const client = db.connection.getClient();
  const listener = (e: { command: { comment?: unknown } }): void => {
    if (e.command.comment !== BACKGROUND_COMMENT) commands++;
  };
  client.on("commandStarted", listener);
  try {
    return { result: await work(), commands };
  } finally {
    client.off("commandStarted", listener);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fixed = (n: number, d = 1) => n.toFixed(d);
const thousands = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const config = loadConfig({
    NODE_ENV: "test",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-00",
    LOG_LEVEL: "silent",
    PORT: "0",
    MESSAGE_RATE_LIMIT: "1000000/1",
    STRANGER_MESSAGE_RATE_LIMIT: "1000000/1",
    GROUP_RATE_LIMIT: "1000000/1",
    REACTION_RATE_LIMIT: "1000000/1",
    // Load shedding would answer 503 to the bulk sends: it is measured by overload tests.
    MAX_EVENT_LOOP_DELAY_MS: "0",
    MAX_REQUEST_DELAY_MS: "0",
  });
  const db = await connectDatabase({ uri: process.env.MONGODB_URI ?? null, dbName: `bench_sync_${Date.now()}`, monitorCommands: true });
  const server = await createServer(config, db, { mailer: new MemoryMailer() });
  const port = await server.listen(0);
  console.log(
    `sync bench: ${CONVERSATIONS} conversations, ${MESSAGES} messages while offline (+ ${EDITS} edits, ${REACTIONS} reactions of older messages), ` +
      `limitPerConversation ${LIMIT}, history pages of ${PAGE}, ${CLIENT_CONCURRENCY} history requests in flight, ${ROUNDS} rounds; ` +
      `load average ${os
        .loadavg()
        .map((l) => fixed(l, 2))
        .join(" ")} (${os.availableParallelism()} cores)`,
  );

  const t = performance.now();
  const f = await buildSyncFixture(db, server, port, CONVERSATIONS);
  console.log(`fixture: ${f.conversations.length} conversations, ${f.older.length} older messages from peers, ${fixed((performance.now() - t) / 1000)} s`);
  const arrivals = await bulkSend(port, f, { messages: MESSAGES, edits: EDITS, reactions: REACTIONS, concurrency: SEND_CONCURRENCY });
  const counts = [...arrivals.perConversation.values()].sort((a, b) => b - a);
  console.log(
    `offline: ${MESSAGES} messages sent in ${fixed(arrivals.seconds)} s (${fixed(MESSAGES / arrivals.seconds)} msg/s, ${SEND_CONCURRENCY} in flight), failed ${arrivals.failed}; ` +
      `per conversation ${counts.at(-1)}-${counts[0]}, over ${LIMIT} in ${counts.filter((c) => c > LIMIT).length}`,
  );

  const runs: Record<"changes" | "paging", Array<ClientRun & { commands: number }>> = { changes: [], paging: [] };
  const changes = async () => {
    const { result, commands } = await withCommands(db, () =>
      changesClient(port, f.viewerToken, f.offline, { limit: LIMIT, page: PAGE, concurrency: CLIENT_CONCURRENCY }),
    );
    runs.changes.push({ ...result, commands });
  };
  const paging = async () => {
    const { result, commands } = await withCommands(db, () => pagingClient(port, f.viewerToken, f.offline, { page: PAGE, concurrency: CLIENT_CONCURRENCY }));
    runs.paging.push({ ...result, commands });
  };
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      await changes();
      await paging();
    } else {
      await paging();
      await changes();
    }
  }

  const c = runs.changes.at(-1)!;
  const p = runs.paging.at(-1)!;
  const older = new Set([...arrivals.edits.keys()]);
  const difference = messageDifference(c.state, p.state, older);
  if (difference) console.log(`WARNING the two clients hold different messages: ${difference}`);
  const expected = f.conversations.length * 3 + MESSAGES;
  for (const [name, run] of [
    ["changes", c],
    ["paging", p],
  ] as const)
    if (heldCount(run.state) !== expected) console.log(`WARNING ${name} holds ${heldCount(run.state)} messages, expected ${expected}`);

  const seen = { changes: olderSeen(c.state, arrivals.edits, arrivals.reactions), paging: olderSeen(p.state, arrivals.edits, arrivals.reactions) };
  const time = (xs: ClientRun[]) => {
    const s = xs.map((x) => x.seconds);
    return `${fixed(median(s), 2)} s (${fixed(Math.min(...s), 2)}-${fixed(Math.max(...s), 2)})`;
  };
  const row = (cells: string[]) => console.log(cells.map((x, i) => (i === 0 ? x.padEnd(8) : x.padStart(i === 1 ? 22 : 15))).join(" "));
  row(["client", "time (median, min-max)", "requests", "response bytes", "db commands", "older edits", "older reactions", "messages held"]);
  for (const [name, run, s] of [
    ["changes", c, seen.changes],
    ["paging", p, seen.paging],
  ] as const)
    row([
      name,
      time(runs[name]),
      String(run.requests),
      thousands(run.bytes),
      thousands(run.commands),
      `${s.edits}/${EDITS}`,
      `${s.reactions}/${REACTIONS}`,
      String(heldCount(run.state)),
    ]);
  console.log(`changes: ${c.changesCalls} changes calls, ${c.hasMore} conversations with hasMore paged (${c.requests - (c.changesCalls ?? 0)} history pages)`);

  const tc = median(runs.changes.map((x) => x.seconds));
  const tp = median(runs.paging.map((x) => x.seconds));
  const verdicts = [
    `time ${tc < tp ? "met" : "NOT met"} (changes ${fixed(tc, 2)} s vs paging ${fixed(tp, 2)} s, ${fixed(tp / tc, 2)}x faster; goal: faster)`,
    `requests ${c.requests < p.requests ? "met" : "NOT met"} (${c.requests} vs ${p.requests}; goal: fewer)`,
    `database commands ${c.commands < p.commands ? "met" : "NOT met"} (${thousands(c.commands)} vs ${thousands(p.commands)}; goal: fewer)`,
    `bytes ${c.bytes <= 1.5 * p.bytes ? "met" : "NOT met"} (${fixed(c.bytes / p.bytes, 2)}x of paging; goal <= 1.5x: changes also carries receipts and conversation state)`,
    `older changes ${seen.changes.edits === EDITS && seen.changes.reactions === REACTIONS ? "met" : "NOT met"} (changes saw ${seen.changes.edits}/${EDITS} edits, ${seen.changes.reactions}/${REACTIONS} reactions; paging ${seen.paging.edits}/${EDITS}, ${seen.paging.reactions}/${REACTIONS})`,
    `same messages ${difference === null ? "met" : "NOT met"}`,
  ];
  for (const v of verdicts) console.log(`verdict  ${v}`);
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => fixed(l, 2))
      .join(" ")}`,
  );

  await server.stop();
  await db.connection.dropDatabase().catch(() => undefined);
  await db.close();
  if (difference || arrivals.failed) process.exitCode = 1;
}

await main();
