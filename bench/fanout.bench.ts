/**
 * `npm run bench:fanout`: N = 1,000, 5,000 and 10,000 graphql-ws subscribers on one group
 * conversation (1,024 members, several connections per member as with several devices), 20
 * messages sent through the API. Prints delivered/expected, whether every client got them in
 * order, p50/p99 latency from send to receipt, "first" (median over the messages of the first
 * receipt: the send path, before any fan-out), "spread p99" (each receipt's delay after the
 * first receipt of its message: the fan-out alone), and the server's RSS and heap per connection,
 * next to a raw `ws` broadcast of the same payloads to the same N, measured in the same run,
 * then a verdict per goal of issue 14.
 *
 * Processes: this one (the clients), the API, the raw `ws` server and the embedded database,
 * each its own, so the API's memory and CPU profile are the API's alone.
 *   FANOUT_SIZES=1000,5000      the subscriber counts (default 1000,5000,10000)
 *   BENCH_CPU_PROF=dir          a CPU profile of the API process per N, of the timed sends only
 *                               (fanout-api-N.cpuprofile: open in Chrome DevTools or speedscope)
 *   BENCH_HEAP_SNAPSHOT=dir     a heap snapshot of the API per N, taken with every subscription live
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { percentile } from "./common.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const MESSAGES = 20;
const SIZES = (process.env.FANOUT_SIZES ?? "1000,5000,10000").split(",").map(Number);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const HEAP_SNAPSHOT = process.env.BENCH_HEAP_SNAPSHOT;

/** Goals of issue 14. */
const GOAL_P99_RATIO = 1.5;
const GOAL_HEAP_PER_CONN = 16 * 1024;
const GOAL_HEAP_AT = 5000;
const GOAL_FULL_AT = 10000;

/**
 * Each process here holds N sockets (the clients and the servers alike): with a soft limit on
 * open files below N plus a margin, the bench runs itself again in a shell that raises it to
 * the hard limit (children inherit it).
 */
function raiseFileLimit(): boolean {
  const need = Math.max(...SIZES) + 1000;
  if (process.env.FANOUT_ULIMIT_RAISED) return false;
  const read = (flag: string) => Number(spawnSync("sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).stdout.trim()) || Infinity;
  const soft = read("-Sn");
  if (soft >= need) return false;
  const hard = read("-Hn");
  if (hard < need) console.warn(`open files: hard limit ${hard} is below ${need}; the largest N may fail to connect`);
  const quoted = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawnSync("sh", ["-c", `ulimit -n ${hard === Infinity ? "unlimited" : hard} && exec ${quoted}`], {
    stdio: "inherit",
    env: { ...process.env, FANOUT_ULIMIT_RAISED: "1" },
  });
  process.exitCode = child.status ?? 1;
  return true;
}

/** The embedded database in its own process; resolves with its URI. */
async function startDatabase(): Promise<{ uri: string; stop(): void }> {
  // With BENCH_CPU_PROF the database process is profiled whole (written when it stops).
  const prof = CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`, "--cpu-prof-name=fanout-db.cpuprofile"] : [];
  const proc = spawn(process.execPath, [...prof, path.join(here, "..", "src", "embedded-mongo", "cli.js"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  const uri = await new Promise<string>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`database exited with ${code}`)));
    lines.on("line", (line) => {
      const m = /listening: (mongodb:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
  });
  return { uri, stop: () => proc.kill("SIGTERM") };
}

interface Mem {
  rss: number;
  heapUsed: number;
}

interface Child {
  proc: ChildProcess;
  ready: Record<string, unknown>;
  mem(): Promise<Mem>;
  snapshot(file: string): Promise<void>;
  command(line: string): Promise<void>;
  stop(): void;
}

async function startChild(mode: "api" | "raw", env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ["--expose-gc", path.join(here, "fanout-server.js"), mode], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  const waiting: Array<(v: Record<string, unknown>) => void> = [];
  lines.on("line", (line) => {
    try {
      const msg = JSON.parse(line) as Record<string, unknown>;
      waiting.shift()?.(msg);
    } catch {
      /* not ours */
    }
  });
  const nextLine = () => new Promise<Record<string, unknown>>((r) => waiting.push(r));
  const first = await nextLine();
  return {
    proc,
    ready: first.ready as Record<string, unknown>,
    async mem() {
      const p = nextLine();
      proc.stdin!.write("mem\n");
      return (await p).mem as Mem;
    },
    async snapshot(file: string) {
      const p = nextLine();
      proc.stdin!.write(`snap ${file}\n`);
      await p;
    },
    async command(line: string) {
      const p = nextLine();
      proc.stdin!.write(`${line}\n`);
      await p;
    },
    stop: () => proc.kill("SIGKILL"),
  };
}

interface Result {
  delivered: number;
  expected: number;
  inOrder: boolean;
  p50: number;
  p99: number;
  /** Median over the messages of the first client's latency: the send path, before the fan-out spreads. */
  first: number;
  /** p99 of each receipt's delay after the first receipt of the same message: the fan-out alone. */
  spread99: number;
  rssPerConn: number;
  heapPerConn: number;
}

/** Delivery, order, latency percentiles and memory per connection of one run. */
function summarize(received: number[][], latencies: number[], n: number, before: Mem, after: Mem, firsts: Map<number, number>, seqs: number[]): Result {
  const spreads = latencies.map((l, i) => l - firsts.get(seqs[i])!).sort((a, b) => a - b);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    first: percentile(
      [...firsts.values()].sort((a, b) => a - b),
      50,
    ),
    spread99: percentile(spreads, 99),
    delivered: received.reduce((s, r) => s + r.length, 0),
    expected: n * MESSAGES,
    inOrder: received.every((r) => r.every((seq, i) => i === 0 || seq === r[i - 1] + 1)),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    rssPerConn: (after.rss - before.rss) / n,
    heapPerConn: (after.heapUsed - before.heapUsed) / n,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runApi(child: Child, n: number, sendTimes: Map<number, number>): Promise<Result> {
  const { port, groupId, tokens } = child.ready as { port: number; groupId: string; tokens: string[] };
  const url = `ws://127.0.0.1:${port}/graphql`;
  await child.mem(); // the first settle releases set-up garbage
  const before = await child.mem();
  const received: number[][] = Array.from({ length: n }, () => []);
  const latencies: number[] = [];
  const firsts = new Map<number, number>();
  const seqs: number[] = [];
  // The same lightweight client as the baseline: graphql-transport-ws spoken over a bare `ws`
  // socket, so both sides measure the server and not the client library.
  const sockets: WebSocket[] = [];
  let acked = 0;
  /** Sockets the server closed during the run, by close code (a missing delivery's first clue). */
  const closes = new Map<number, number>();
  const query = `subscription($c: ID, $after: Int) { messageAdded(conversationId: $c, afterSeq: $after) { id seq content sender { username } } }`;
  /** The last seq each client holds: a reconnect resumes after it, as a real client does. */
  const lastSeq: number[] = Array.from({ length: n }, () => 0);
  let reconnects = 0;
  // A client whose socket closes reconnects with backoff until the run ends (a connect storm can
  // outlast graphql-ws's 3 s init timeout or the listen backlog; the server may close a socket
  // under load) and resumes with afterSeq: the server replays what it missed, so a message is
  // only counted missing if the product lost it. Latency counts from the send, replay included.
  const open = (i: number, attempt: number): void => {
    const ws = new WebSocket(url, "graphql-transport-ws");
    ws.on("error", () => undefined);
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${tokens[i % tokens.length]}` } })));
    ws.on("close", (code) => {
      if (stopping) return;
      closes.set(code, (closes.get(code) ?? 0) + 1);
      reconnects++;
      setTimeout(() => open(i, attempt + 1), Math.min(2000, 200 * (attempt + 1)));
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { type: string; payload?: { data?: { messageAdded?: { seq: number } } } };
      if (msg.type === "connection_ack") {
        if (attempt === 0) acked++;
        const after = lastSeq[i] > 0 ? lastSeq[i] : null;
        ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { c: groupId, after } } }));
      } else if (msg.type === "next") {
        attempt = 0;
        const seq = msg.payload!.data!.messageAdded!.seq;
        lastSeq[i] = Math.max(lastSeq[i], seq);
        const latency = performance.now() - sendTimes.get(seq)!;
        latencies.push(latency);
        seqs.push(seq);
        if (!firsts.has(seq)) firsts.set(seq, latency);
        received[i].push(seq);
      } else if (msg.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      }
    });
    sockets[i] = ws;
  };
  let stopping = false;
  for (let i = 0; i < n; i++) {
    open(i, 0);
    if (i % 100 === 99) await sleep(50);
  }
  // Let the connect storm settle (every socket acknowledged, or a minute) before the warm-up.
  const ackDeadline = Date.now() + 60_000;
  while (acked < n && Date.now() < ackDeadline) await sleep(100);
  // Warm-up: one message every client must receive, so all subscriptions are live before timing.
  // The warm-up send carries a clientMessageId, so it can be retried after a timeout (a loop
  // busy with thousands of subscribes) and stored once; the timed sends carry none, so their
  // path is the same as before (no idempotency lookup) and only a refused connection is retried.
  const send = async (seqExpected: number, content: string, idempotent = false) => {
    let body: { data?: { sendGroupMessage: { seq: number } } } = {};
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens[0]}` },
          body: JSON.stringify({
            query: `mutation($g: ID!, $c: String!, $k: String) { sendGroupMessage(input: { groupId: $g, content: $c, clientMessageId: $k }) { seq } }`,
            variables: { g: groupId, c: content, k: idempotent ? `fanout-${seqExpected}` : null },
          }),
        });
        body = (await res.json()) as typeof body;
        break;
      } catch (err) {
        const connectFailed = ((err as Error).cause as { code?: string } | undefined)?.code === "UND_ERR_CONNECT_TIMEOUT";
        if (attempt >= 5 || !(idempotent || connectFailed)) throw err;
        await sleep(1000);
      }
    }
    if (body.data?.sendGroupMessage.seq !== seqExpected) throw new Error(`unexpected seq ${JSON.stringify(body)}`);
  };
  const warm = sendTimes.size + 1;
  sendTimes.set(warm, performance.now());
  await send(warm, "warm-up", true);
  const warmDeadline = Date.now() + 120_000;
  while (received.some((r) => !r.includes(warm)) && Date.now() < warmDeadline) await sleep(100);
  for (const r of received) r.length = 0;
  latencies.length = 0;
  seqs.length = 0;
  firsts.clear();
  const after = await child.mem();
  if (HEAP_SNAPSHOT) {
    mkdirSync(HEAP_SNAPSHOT, { recursive: true });
    const file = path.join(path.resolve(HEAP_SNAPSHOT), `fanout-api-${n}.heapsnapshot`);
    await child.snapshot(file);
    console.log(`  heap snapshot: ${file}`);
  }
  const base = sendTimes.size;
  if (CPU_PROF) await child.command("prof-start");
  for (let k = 1; k <= MESSAGES; k++) {
    sendTimes.set(base + k, performance.now());
    await send(base + k, `bench message ${k}`);
    await sleep(100);
  }
  const deadline = Date.now() + 30_000;
  while (received.reduce((s, r) => s + r.length, 0) < n * MESSAGES && Date.now() < deadline) await sleep(100);
  if (CPU_PROF) {
    mkdirSync(CPU_PROF, { recursive: true });
    const file = path.join(path.resolve(CPU_PROF), `fanout-api-${n}.cpuprofile`);
    await child.command(`prof-stop ${file}`);
    console.log(`  CPU profile of the timed sends: ${file}`);
  }
  stopping = true;
  const silent = received.filter((r) => r.length === 0).length;
  if (closes.size || silent)
    console.log(
      `  sockets closed during the run, by code: ${JSON.stringify(Object.fromEntries(closes))}; reconnects: ${reconnects}; clients that received nothing: ${silent}`,
    );
  for (const ws of sockets) ws.close();
  await sleep(500);
  return summarize(received, latencies, n, before, after, firsts, seqs);
}

async function runRaw(child: Child, n: number, payloadBytes: number): Promise<Result> {
  const { port } = child.ready as { port: number };
  await child.mem();
  const before = await child.mem();
  const received: number[][] = Array.from({ length: n }, () => []);
  const latencies: number[] = [];
  const firsts = new Map<number, number>();
  const seqs: number[] = [];
  const sendTimes = new Map<number, number>();
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on("error", () => undefined);
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { payload: { data: { messageAdded: { seq: number } } } };
      const seq = msg.payload.data.messageAdded.seq;
      const latency = performance.now() - sendTimes.get(seq)!;
      latencies.push(latency);
      seqs.push(seq);
      if (!firsts.has(seq)) firsts.set(seq, latency);
      received[i].push(seq);
    });
    sockets.push(ws);
    if (i % 200 === 199) await sleep(50);
  }
  await sleep(2000);
  const after = await child.mem();
  for (let k = 1; k <= MESSAGES; k++) {
    const payload = JSON.stringify({
      id: "1",
      type: "next",
      payload: { data: { messageAdded: { seq: k, content: `bench message ${k}`, pad: "x".repeat(Math.max(0, payloadBytes - 120)) } } },
    });
    sendTimes.set(k, performance.now());
    await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: payload });
    await sleep(100);
  }
  const deadline = Date.now() + 30_000;
  while (received.reduce((s, r) => s + r.length, 0) < n * MESSAGES && Date.now() < deadline) await sleep(100);
  for (const s of sockets) s.terminate();
  await sleep(500);
  return summarize(received, latencies, n, before, after, firsts, seqs);
}

const fmt = (r: Result): string =>
  `${String(r.delivered).padStart(7)}/${String(r.expected).padEnd(7)} ${r.inOrder ? "yes" : "NO "}   p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  first ${r.first.toFixed(1).padStart(6)} ms  spread p99 ${r.spread99.toFixed(1).padStart(6)} ms  RSS/conn ${(r.rssPerConn / 1024).toFixed(1).padStart(6)} KB  heap/conn ${(r.heapPerConn / 1024).toFixed(1).padStart(6)} KB`;

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  if (raiseFileLimit()) return;
  const database = await startDatabase();
  const apiChild = await startChild("api", { FANOUT_DB_URI: database.uri });
  const rawChild = await startChild("raw");
  const sendTimes = new Map<number, number>();
  const verdicts: Array<{ goal: string; measured: string; met: boolean }> = [];
  try {
    console.log(`fan-out: ${MESSAGES} group messages to N graphql-ws subscribers (group of 1,024 members), baseline raw ws broadcast`);
    for (const n of SIZES) {
      console.log(`N=${n}`);
      const api = await runApi(apiChild, n, sendTimes);
      console.log(`  api      ${fmt(api)}`);
      const raw = await runRaw(rawChild, n, 300);
      console.log(`  raw ws   ${fmt(raw)}`);
      const ratio = api.p99 / Math.max(raw.p99, 0.001);
      const complete = api.delivered === api.expected && api.inOrder;
      console.log(`  p99 api/raw = ${ratio.toFixed(2)}; ${complete ? "every message delivered, in order" : "MISSING or OUT OF ORDER"}`);
      if (n === GOAL_FULL_AT)
        verdicts.push({
          goal: `N=${n}: 100% delivered in order`,
          measured: `${api.delivered}/${api.expected}${api.inOrder ? "" : ", out of order"}`,
          met: complete,
        });
      else {
        verdicts.push({
          goal: `N=${n}: p99 <= ${GOAL_P99_RATIO}x raw ws, all delivered in order`,
          measured: `${ratio.toFixed(2)}x`,
          met: complete && ratio <= GOAL_P99_RATIO,
        });
      }
      if (n === GOAL_HEAP_AT)
        verdicts.push({
          goal: `N=${n}: heap <= ${kb(GOAL_HEAP_PER_CONN)} per connection`,
          measured: kb(api.heapPerConn),
          met: api.heapPerConn <= GOAL_HEAP_PER_CONN,
        });
    }
  } finally {
    apiChild.stop();
    rawChild.stop();
    database.stop();
  }
  console.log("goals (issue 14):");
  for (const v of verdicts) console.log(`  ${v.met ? "MET   " : "MISSED"} ${v.goal.padEnd(52)} ${v.measured}`);
  process.exitCode = verdicts.every((v) => v.met) ? 0 : 1;
}

await main();
