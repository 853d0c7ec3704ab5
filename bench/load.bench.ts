/**
 * `npm run bench:load`: a busy chat on this box. The embedded database in its own process, two
 * API instances (processes) on it sharing Redis (REDIS_URL, default redis://127.0.0.1:6379),
 * LOAD_USERS users (default 200; also 1,000) with one graphql-ws client each (alternating
 * between the instances) subscribed with `afterSeq` to each of their conversations: N/10 groups
 * of 10 and N/2 direct conversations, every user in one of each.
 *
 * Sends go at a steady rate (open loop: a send starts on the clock, not when the previous one
 * returns), half into groups and half into direct conversations, from a random member over
 * HTTP to the instance that member's client is on, each with a clientMessageId. The ramp
 * (LOAD_RATES, default 50,100,150,200,300,400 msg/s, LOAD_SECONDS each, default 10) stops at
 * the first rate that is not sustained: live delivery p99 > 250 ms, a failed send (an error or
 * no answer within 2 s), a delivery missing, or the generator falling behind the rate.
 *
 * Per rate it prints the sends and deliveries per second, delivery p50/p99 (from the start of
 * the send to the frame at the subscriber), send p99, database commands per send (the embedded
 * server's serverStatus metrics.commands over the step per send attempted, handshakes excluded; by command with
 * LOAD_VERBOSE=1), CPU of the three server processes per 1,000 deliveries, and their RSS.
 * There is no in-run baseline for this one: the README lists the figures of the commit before
 * a change and after it, measured one after the other on this box, with the load average.
 *
 * BENCH_CPU_PROF=dir: the database and both API processes run with --cpu-prof into dir.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "graphql-ws";
import { MongoClient } from "mongodb";
import WebSocket from "ws";
import { percentile } from "./common.js";
import type { Fixture, FixtureConversation } from "./load-server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const USERS = Number(process.env.LOAD_USERS ?? 200);
const RATES = (process.env.LOAD_RATES ?? "50,100,150,200,300,400").split(",").map(Number);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const P99_GOAL_MS = 250;
const RATE_GOAL = 300;
const COMMANDS_GOAL = 6;
const SEND_TIMEOUT_MS = 2000;
/** How long after a step's last send its deliveries may still arrive. */
const DRAIN_MS = 3000;
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** Commands that are connection upkeep, not work for a send. */
const UPKEEP = new Set(["hello", "isMaster", "ismaster", "ping", "serverStatus", "endSessions", "buildInfo", "buildinfo"]);

interface Child {
  proc: ChildProcess;
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

async function startChild(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const proc = spawn(process.execPath, [...profile, path.join(here, "load-server.js"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`load-server ${args[0]} exited (${code}) before it was ready`)));
    lines.on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: Record<string, unknown> };
        if (msg.ready) resolve(msg.ready);
      } catch {
        /* not ours */
      }
    });
  });
  return {
    proc,
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill(PROFILE_DIR ? "SIGINT" : "SIGKILL");
      }),
  };
}

/** CPU ms (user + system) a process has used, and its RSS in bytes, from /proc (Linux). */
function usage(pid: number): { cpuMs: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  const rssPages = Number(fields[21]); // field 24
  return { cpuMs: (ticks * 1000) / 100, rss: rssPages * 4096 };
}

/** Commands the embedded server has run, by name (upkeep left out). */
async function commandCounts(mongo: MongoClient): Promise<Map<string, number>> {
  const status = (await mongo.db("admin").command({ serverStatus: 1 })) as { metrics?: { commands?: Record<string, { total: number }> } };
  const out = new Map<string, number>();
  for (const [name, { total }] of Object.entries(status.metrics?.commands ?? {})) if (!UPKEEP.has(name)) out.set(name, total);
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One GraphQL POST; resolves with the parsed body, rejects on a transport error or the timeout. */
function post(port: number, token: string, body: string, timeoutMs: number): Promise<{ data?: unknown; errors?: Array<{ message: string }> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/graphql",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as { data?: unknown; errors?: Array<{ message: string }> });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

const SEND_DIRECT = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { seq } }`;
const SUBSCRIBE = `subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { seq content } }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Step {
  rate: number;
  sent: number;
  failed: number;
  firstError: string | null;
  achieved: number;
  expected: number;
  delivered: number;
  deliveryP50: number;
  deliveryP99: number;
  sendP99: number;
  commandsPerSend: number;
  commandsByName: Array<[string, number]>;
  cpuPer1kDeliveries: number;
  rssMb: number[];
  ok: boolean;
}

class Load {
  private nextSend = 0;
  /** Send id → start time, members expected, members that got it. */
  private readonly pending = new Map<number, { at: number; expected: number; got: number }>();
  private deliveryLatencies: number[] = [];
  private delivered = 0;
  private readonly clients: Client[] = [];
  private connected = 0;

  constructor(
    private readonly fixture: Fixture,
    private readonly ports: [number, number],
  ) {}

  private portOf(user: number): number {
    return this.ports[user % 2];
  }

  /** One graphql-ws client per user, on its instance, subscribed to each of its conversations from afterSeq 0. */
  async connect(): Promise<void> {
    const byUser = new Map<number, FixtureConversation[]>();
    for (const c of this.fixture.conversations) for (const m of c.members) byUser.set(m, [...(byUser.get(m) ?? []), c]);
    for (let u = 0; u < this.fixture.tokens.length; u++) {
      const client = createClient({
        url: `ws://127.0.0.1:${this.portOf(u)}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 5,
        connectionParams: { authorization: `Bearer ${this.fixture.tokens[u]}` },
        on: { connected: () => void this.connected++ },
      });
      this.clients.push(client);
      for (const conv of byUser.get(u) ?? []) {
        client.subscribe<{ messageAdded: { seq: number; content: string } }>(
          { query: SUBSCRIBE, variables: { c: conv.id, a: 0 } },
          {
            next: (r) => this.received(r.data?.messageAdded?.content),
            error: (e) => console.error(`subscription of user ${u} failed: ${JSON.stringify(e)}`),
            complete: () => undefined,
          },
        );
      }
      if (u % 50 === 49) await sleep(100);
    }
    const deadline = Date.now() + 120_000;
    while (this.connected < this.clients.length && Date.now() < deadline) await sleep(100);
    if (this.connected < this.clients.length) throw new Error(`${this.connected} of ${this.clients.length} clients connected within 2 minutes`);
  }

  private received(content: string | undefined): void {
    const id = Number(content?.slice(1).split(" ")[0]);
    const p = this.pending.get(id);
    if (!p) return;
    this.delivered++;
    this.deliveryLatencies.push(performance.now() - p.at);
    if (++p.got === p.expected) this.pending.delete(id);
  }

  /** Starts one send; resolves with its latency, or an error message. */
  private async send(conv: FixtureConversation, sender: number, timeoutMs = SEND_TIMEOUT_MS): Promise<{ ms: number } | { error: string }> {
    const id = ++this.nextSend;
    const at = performance.now();
    this.pending.set(id, { at, expected: conv.members.length, got: 0 });
    const input =
      conv.kind === "group"
        ? { groupId: conv.groupId, content: `L${id} load`, clientMessageId: `load-${id}` }
        : { recipientId: this.fixture.userIds[conv.members.find((m) => m !== sender)!], content: `L${id} load`, clientMessageId: `load-${id}` };
    try {
      const body = await post(
        this.portOf(sender),
        this.fixture.tokens[sender],
        JSON.stringify({ query: conv.kind === "group" ? SEND_GROUP : SEND_DIRECT, variables: { i: input } }),
        timeoutMs,
      );
      if (body.errors?.length) return { error: body.errors[0].message };
      return { ms: performance.now() - at };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** One message into every conversation, waiting until every subscriber has it: all streams are live. */
  async warmUp(): Promise<boolean> {
    const convs = this.fixture.conversations;
    for (let i = 0; i < convs.length; i += 20) {
      // Generous time: the box may still be busy with the connect storm.
      const results = await Promise.all(convs.slice(i, i + 20).map((c) => this.send(c, c.members[0], 30_000)));
      const failed = results.find((r) => "error" in r);
      if (failed) throw new Error(`warm-up send failed: ${(failed as { error: string }).error}`);
    }
    const deadline = Date.now() + 120_000;
    while (this.pending.size > 0 && Date.now() < deadline) await sleep(100);
    return this.pending.size === 0;
  }

  /** One step of the ramp: `rate` sends a second for SECONDS, then the drain. */
  async step(rate: number, mongo: MongoClient, pids: number[]): Promise<Step> {
    this.pending.clear();
    this.deliveryLatencies = [];
    this.delivered = 0;
    const groups = this.fixture.conversations.filter((c) => c.kind === "group");
    const directs = this.fixture.conversations.filter((c) => c.kind === "direct");
    const commandsBefore = await commandCounts(mongo);
    const cpuBefore = pids.map((p) => usage(p).cpuMs);
    const sendLatencies: number[] = [];
    let failed = 0;
    let firstError: string | null = null;
    let expected = 0;
    const inFlight: Array<Promise<void>> = [];
    const start = performance.now();
    const total = rate * SECONDS;
    let started = 0;
    while (started < total) {
      // Catch up with the clock: every send whose time has come starts now.
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; started < due; started++) {
        const conv = started % 2 === 0 ? groups[Math.floor(Math.random() * groups.length)] : directs[Math.floor(Math.random() * directs.length)];
        const sender = conv.members[Math.floor(Math.random() * conv.members.length)];
        expected += conv.members.length;
        inFlight.push(
          this.send(conv, sender).then((r) => {
            if ("error" in r) {
              failed++;
              firstError ??= r.error;
            } else sendLatencies.push(r.ms);
          }),
        );
      }
      await sleep(Math.max(1, 1000 / rate));
    }
    const sendingSeconds = (performance.now() - start) / 1000;
    await Promise.all(inFlight);
    const deadline = performance.now() + DRAIN_MS;
    while (this.pending.size > 0 && performance.now() < deadline) await sleep(50);
    const cpuMs = pids.map((p, i) => usage(p).cpuMs - cpuBefore[i]).reduce((a, b) => a + b, 0);
    const commandsAfter = await commandCounts(mongo);
    const byName: Array<[string, number]> = [...commandsAfter]
      .map(([name, n]): [string, number] => [name, n - (commandsBefore.get(name) ?? 0)])
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const commands = byName.reduce((s, [, n]) => s + n, 0);
    const ok = sendLatencies.length;
    const deliveries = this.deliveryLatencies.sort((a, b) => a - b);
    sendLatencies.sort((a, b) => a - b);
    const achieved = total / sendingSeconds;
    const step: Step = {
      rate,
      sent: ok,
      failed,
      firstError,
      achieved,
      expected,
      delivered: this.delivered,
      deliveryP50: deliveries.length ? percentile(deliveries, 50) : NaN,
      deliveryP99: deliveries.length ? percentile(deliveries, 99) : NaN,
      sendP99: sendLatencies.length ? percentile(sendLatencies, 99) : NaN,
      commandsPerSend: commands / Math.max(1, ok + failed),
      commandsByName: byName.map(([name, n]) => [name, n / Math.max(1, ok + failed)]),
      cpuPer1kDeliveries: (cpuMs / Math.max(1, this.delivered)) * 1000,
      rssMb: pids.map((p) => usage(p).rss / 1048576),
      ok: false,
    };
    step.ok = failed === 0 && step.delivered >= expected && step.deliveryP99 <= P99_GOAL_MS && achieved >= 0.95 * rate;
    return step;
  }

  async close(): Promise<void> {
    for (const c of this.clients) void c.dispose();
  }
}

const f = (n: number, w: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-").padStart(w);

function printStep(s: Step): void {
  console.log(
    `${f(s.rate, 5)} ${f(s.achieved, 7, 1)} ${f(s.sent, 6)} ${f(s.failed, 5)} ${f(s.delivered / SECONDS, 8)} ${`${s.delivered}/${s.expected}`.padStart(13)} ${f(s.deliveryP50, 6)} ${f(s.deliveryP99, 6)} ${f(s.sendP99, 6)} ${f(s.commandsPerSend, 6, 2)} ${f(s.cpuPer1kDeliveries, 9)} ${s.rssMb
      .map((r) => f(r, 4))
      .join("/")
      .padStart(14)}  ${s.ok ? "ok" : "NOT SUSTAINED"}`,
  );
  if (s.firstError) console.log(`      first error: ${s.firstError}`);
  if (process.env.LOAD_VERBOSE) console.log(`      commands/send: ${s.commandsByName.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(", ")}`);
}

async function main(): Promise<void> {
  const load1 = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const db = await startChild(["db"]);
  const uri = db.ready.uri as string;
  const a = await startChild(["api", uri], { LOAD_FIXTURE: String(USERS), REDIS_URL: redis });
  const b = await startChild(["api", uri], { REDIS_URL: redis });
  const fixture = (a.ready as { fixture: Fixture }).fixture;
  const mongo = await new MongoClient(uri).connect();
  const load = new Load(fixture, [a.ready.port as number, b.ready.port as number]);
  const pids = [db.proc.pid!, a.proc.pid!, b.proc.pid!];
  const steps: Step[] = [];
  try {
    const groups = fixture.conversations.filter((c) => c.kind === "group").length;
    console.log(
      `load: ${USERS} users (graphql-ws, afterSeq subscriptions), ${groups} groups of 10, ${fixture.conversations.length - groups} direct conversations; 2 API instances + embedded database (processes), Redis ${redis}`,
    );
    console.log(`load average at start: ${load1}${PROFILE_DIR ? `; CPU profiles to ${PROFILE_DIR}` : ""}`);
    await load.connect();
    if (!(await load.warmUp())) throw new Error("warm-up: not every subscriber got its first message within 2 minutes");
    console.log(`rates of ${SECONDS} s each; goal: delivery p99 <= ${P99_GOAL_MS} ms, no failed send; CPU = database + both APIs; RSS MB db/A/B`);
    console.log(" rate  msgs/s  sends fail  deliv/s     delivered    p50    p99 sendp99 cmd/snd cpu ms/1k      RSS MB");
    for (const rate of RATES) {
      const s = await load.step(rate, mongo, pids);
      steps.push(s);
      printStep(s);
      if (!s.ok) break;
      await sleep(1000);
    }
  } finally {
    await load.close();
    await mongo.close();
    await Promise.all([a.stop(), b.stop()]);
    await db.stop();
    agent.destroy();
  }
  const best = steps.filter((s) => s.ok).at(-1);
  const commands = best ?? steps[0];
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `highest sustained rate: ${best ? `${best.rate} msg/s (${(best.delivered / SECONDS).toFixed(0)} deliveries/s, p99 ${best.deliveryP99.toFixed(0)} ms)` : "none"}; goal >= ${RATE_GOAL} msg/s: ${best && best.rate >= RATE_GOAL ? "met" : "NOT met"}`,
  );
  if (commands)
    console.log(
      `database commands per send at ${commands.rate} msg/s: ${commands.commandsPerSend.toFixed(2)} (${commands.commandsByName.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(", ")}); goal <= ${COMMANDS_GOAL}: ${commands.commandsPerSend <= COMMANDS_GOAL ? "met" : "NOT met"}`,
    );
  process.exitCode = best && best.rate >= RATE_GOAL && commands.commandsPerSend <= COMMANDS_GOAL ? 0 : 1;
}

await main();
