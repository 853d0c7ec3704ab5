/**
 * `npm run bench:http`: the two read screens and logins through the API over real HTTP (fetch,
 * keep-alive, HTTP_CONCURRENCY requests in flight), on the embedded database (or MONGODB_URI):
 *   history        messages(conversationId, last: 50) with sender, profile picture and attachment
 *   conversations  conversations(first: 50) with last message, unread count and peer
 * each against a bare node:http handler in the same process making the same driver calls and
 * writing the same JSON (bench/http-plain.ts), measured in the same run. Prints requests/s of
 * both, the ratio (goal ≥ 0.6×) and database commands per request at page size 5 and 50 (goal:
 * equal). Then `login` mutations/s with the event-loop delay p99 while they run (goals ≥ 60/s,
 * ≤ 50 ms) and the libuv pool size. BENCH_CPU_PROF=dir writes a CPU profile there.
 * The API runs as in production: NODE_ENV=production (the process respawns itself with it, see
 * respawnInProduction) and the production config, pointed at the database the bench uses.
 */
import "reflect-metadata";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadConfig } from "../src/config.js";
import { BACKGROUND_COMMENT, connectDatabase, type Database } from "../src/database.js";
import { createServer } from "../src/server.js";
import { MemoryMailer } from "../src/mail/mailer.js";
import { hashPassword } from "../src/auth/password.js";
import { respawnInProduction, respawnWithCpuProfile } from "./common.js";
import { buildFixture, type Fixture } from "./http-fixture.js";
import { startPlainServer } from "./http-plain.js";

if (respawnInProduction() || respawnWithCpuProfile()) process.exit(process.exitCode ?? 0);

const REQUESTS = Number(process.env.HTTP_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.HTTP_CONCURRENCY ?? 16);
const PAGE = Number(process.env.HTTP_PAGE ?? 50);
const CONVERSATIONS = Number(process.env.HTTP_CONVERSATIONS ?? 50);
const LOGINS = Number(process.env.HTTP_LOGINS ?? 300);
/** API and baseline take turns this many times (REQUESTS / ROUNDS each turn): load from elsewhere on a shared box then weighs on both alike. */
const ROUNDS = Number(process.env.HTTP_ROUNDS ?? 6);
/** Which parts to run, e.g. HTTP_PARTS=logins. */
const PARTS = new Set((process.env.HTTP_PARTS ?? "history,conversations,logins").split(","));

const HISTORY = `query($c: ID!, $n: Int) { messages(conversationId: $c, last: $n) { edges { cursor node { id seq content messageType createdAt
  sender { id username fullName profilePicture { id url thumbnailUrl } }
  attachment { __typename ... on Media { id mimeType width height url thumbnailUrl } } } } pageInfo { hasPreviousPage startCursor } } }`;
const CONVERSATION_LIST = `query($n: Int) { conversations(first: $n) { edges { cursor node { id unreadCount lastSeq updatedAt
  lastMessage { id seq content createdAt } ... on DirectConversation { peer { id username } } } } pageInfo { hasNextPage endCursor } } }`;
const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`;

interface Call {
  url: string;
  init: RequestInit;
}

const gql = (port: number, token: string | null, query: string, variables: Record<string, unknown>): Call => ({
  url: `http://127.0.0.1:${port}/graphql`,
  init: {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  },
});

/** `total` requests, `CONCURRENCY` at a time; requests/s and how many failed (HTTP status or `errors`). */
async function load(total: number, call: (i: number) => Call): Promise<{ rps: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const { url, init } = call(next++);
        const res = await fetch(url, init);
        const body = (await res.json()) as { errors?: unknown };
        if (res.status !== 200 || body.errors) failed++;
      }
    }),
  );
  return { rps: total / ((performance.now() - start) / 1000), failed };
}

/**
 * Database commands per request, averaged over `n` requests sent one at a time (periodic sweeps
 * excluded), the smaller of two such runs: the throttled last-seen and session touches fall into
 * one run or the other now and then, and they are not part of the page's reads.
 */
async function commandsPer(db: Database, call: Call, n = 10): Promise<number> {
  return Math.min(await commandsOnce(db, call, n), await commandsOnce(db, call, n));
}

async function commandsOnce(db: Database, call: Call, n: number): Promise<number> {
  let count = 0;
  const client = db.connection.getClient();
  const listener = (e: { command: { comment?: unknown } }): void => {
    if (e.command.comment !== BACKGROUND_COMMENT) count++;
  };
  client.on("commandStarted", listener);
  try {
    for (let i = 0; i < n; i++) await (await fetch(call.url, call.init)).arrayBuffer();
  } finally {
    client.off("commandStarted", listener);
  }
  return count / n;
}

/** The same answer from both, else the comparison means nothing: null, or where they part. */
async function jsonDifference(a: Call, b: Call): Promise<string | null> {
  const [x, y] = await Promise.all([a, b].map(async (c) => (await fetch(c.url, c.init)).text()));
  if (x === y) return null;
  let i = 0;
  while (x[i] === y[i]) i++;
  return `api ...${x.slice(Math.max(0, i - 80), i + 80)}\n  plain ...${y.slice(Math.max(0, i - 80), i + 80)}`;
}

const verdicts: string[] = [];
const fixed = (n: number, d = 1) => n.toFixed(d);

async function screen(name: string, db: Database, api: (n: number) => Call, plain: (n: number) => Call): Promise<void> {
  const difference = await jsonDifference(api(PAGE), plain(PAGE));
  if (difference) console.log(`${name}: WARNING the baseline's JSON differs from the API's:\n  ${difference}`);
  // Warm both (JIT, caches, the throttled last-seen/session touches), then measure, taking turns.
  await load(Math.min(200, REQUESTS), () => api(PAGE));
  await load(Math.min(200, REQUESTS), () => plain(PAGE));
  const a = { seconds: 0, failed: 0 };
  const p = { seconds: 0, failed: 0 };
  const turn = Math.max(1, Math.round(REQUESTS / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [side, call] of [
      [a, api],
      [p, plain],
    ] as const) {
      const t = await load(turn, () => call(PAGE));
      side.seconds += turn / t.rps;
      side.failed += t.failed;
    }
  }
  const [aRps, pRps] = [(turn * ROUNDS) / a.seconds, (turn * ROUNDS) / p.seconds];
  const ratio = aRps / pRps;
  const [api5, api50, plain5, plain50] = [
    await commandsPer(db, api(5)),
    await commandsPer(db, api(50)),
    await commandsPer(db, plain(5)),
    await commandsPer(db, plain(50)),
  ];
  console.log(
    `${name.padEnd(13)} api ${fixed(aRps).padStart(7)} req/s  plain ${fixed(pRps).padStart(7)} req/s  ratio ${fixed(ratio, 2)}x  failed ${a.failed}/${p.failed}` +
      `  commands/request page 5: ${fixed(api5)} (plain ${fixed(plain5)})  page 50: ${fixed(api50)} (plain ${fixed(plain50)})`,
  );
  verdicts.push(`${name}: throughput ${ratio >= 0.6 ? "met" : "NOT met"} (${fixed(ratio, 2)}x of plain, goal >= 0.6x)`);
  verdicts.push(`${name}: commands constant in page size ${api5 === api50 ? "met" : "NOT met"} (${fixed(api5)} at 5, ${fixed(api50)} at 50)`);
}

async function logins(db: Database, port: number, f: Fixture): Promise<void> {
  const password = "bench-password-1";
  const hash = await hashPassword(password);
  const users = f.users.slice(0, Math.min(f.users.length, CONCURRENCY));
  // The raw collection: mongoose's sanitizeFilter would take `$in` for a value.
  const col = db.connection.db!.collection("users");
  await col.updateMany({ _id: { $in: users.map((u) => u._id) } }, { $set: { password: hash } });
  const names = (await col.find({ _id: { $in: users.map((u) => u._id) } }, { projection: { username: 1 } }).toArray()).map((u) => u.username as string);
  const call = (i: number) => gql(port, null, LOGIN, { i: { login: names[i % names.length], password } });
  await load(Math.min(20, LOGINS), call);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const r = await load(LOGINS, call);
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  // Every thread of the process: argon2 on the pool, the API, the database and the load generator.
  const cpuPerLogin = (cpu.user + cpu.system) / 1000 / LOGINS;
  const p99 = delay.percentile(99) / 1e6;
  const pool = process.env.UV_THREADPOOL_SIZE ?? "4 (default)";
  console.log(
    `logins        ${fixed(r.rps).padStart(7)} /s  event-loop delay p50 ${fixed(delay.percentile(50) / 1e6)} ms  p99 ${fixed(p99)} ms  max ${fixed(delay.max / 1e6)} ms  failed ${r.failed}` +
      `  CPU ${fixed(cpuPerLogin)} ms/login  (UV_THREADPOOL_SIZE ${pool}, ${os.availableParallelism()} cores)`,
  );
  verdicts.push(`logins: rate ${r.rps >= 60 ? "met" : "NOT met"} (${fixed(r.rps)}/s, goal >= 60/s)`);
  verdicts.push(`logins: event-loop p99 ${p99 <= 50 ? "met" : "NOT met"} (${fixed(p99)} ms, goal <= 50 ms)`);
}

async function main(): Promise<void> {
  // Command monitoring is on for both servers (they share the connection): it counts commands.
  const db = await connectDatabase({ uri: process.env.MONGODB_URI ?? null, dbName: `bench_http_${Date.now()}`, monitorCommands: true });
  const config = loadConfig({
    NODE_ENV: "production",
    // Production requires both; the URI is the database this run uses (embedded unless given).
    MONGODB_URI: process.env.MONGODB_URI ?? db.embedded!.uri,
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-00",
    LOG_LEVEL: "silent",
    PORT: "0",
    MESSAGE_RATE_LIMIT: "1000000/1",
    STRANGER_MESSAGE_RATE_LIMIT: "1000000/1",
    // Load shedding would answer 503 to a saturating benchmark: it is measured by overload tests.
    MAX_EVENT_LOOP_DELAY_MS: "0",
    MAX_REQUEST_DELAY_MS: "0",
  });
  const server = await createServer(config, db, { mailer: new MemoryMailer() });
  const port = await server.listen(0);
  const f = await buildFixture(db, server, Math.max(PAGE, 50) + 10, CONVERSATIONS);
  const plain = await startPlainServer(db, server);
  console.log(`http bench: ${REQUESTS} requests per side, ${CONCURRENCY} in flight, page ${PAGE}, ${CONVERSATIONS} conversations, ${LOGINS} logins`);

  const auth = { authorization: `Bearer ${f.viewerToken}` };
  const plainCall = (path: string): Call => ({ url: `http://127.0.0.1:${plain.port}${path}`, init: { headers: auth } });
  if (PARTS.has("history"))
    await screen(
      "history",
      db,
      (n) => gql(port, f.viewerToken, HISTORY, { c: f.historyId, n }),
      (n) => plainCall(`/history?c=${f.historyId}&n=${n}`),
    );
  if (PARTS.has("conversations"))
    await screen(
      "conversations",
      db,
      (n) => gql(port, f.viewerToken, CONVERSATION_LIST, { n }),
      (n) => plainCall(`/conversations?n=${n}`),
    );
  if (PARTS.has("logins")) await logins(db, port, f);
  for (const v of verdicts) console.log(`verdict  ${v}`);

  await plain.close();
  await server.stop();
  await db.connection.dropDatabase().catch(() => undefined);
  await db.close();
}

await main();
