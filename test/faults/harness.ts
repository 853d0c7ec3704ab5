/**
 * The fault-injection harness (issue 13, "Nothing lost, nothing doubled"): two API processes
 * on one embedded database process, Redis behind a TCP proxy the harness can cut, users in
 * groups and direct conversations, real graphql-ws clients and real HTTP senders, and faults
 * injected while the load runs. At the end every committed message is read from the database
 * and compared with what each member received.
 *
 * Clients behave as the README asks real ones to: a subscription per conversation with
 * `messageAdded(conversationId, afterSeq)`; after any disconnect, reconnect to the other
 * instance and resume with the last seq received. Senders give each message a unique
 * clientMessageId and, with no answer in time (or a 503 after its Retry-After, jittered), retry
 * the same send on the other instance, carrying the retry ticket of its first 503.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MongoClient, ObjectId } from "mongodb";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { freePort, startApiProcess, startDbProcess, type ApiProcess, type DbProcess } from "../helpers/processes.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

export interface Profile {
  name: string;
  users: number;
  groups: number;
  groupSize: number;
  /** Direct conversations (pairs of users). */
  directs: number;
  /** Sends started per second. */
  rate: number;
  /** Sends in flight at most (the load is bounded: past it a tick is skipped and counted). */
  maxInFlight: number;
  loadSeconds: number;
  /** A sender with no answer after this retries on the other instance. */
  sendTimeoutMs: number;
  /** Seconds after the start of the load. */
  killAt: number;
  restartAfter: number;
  stopAt: number;
  stopSeconds: number;
  redisCutAt: number;
  redisCutSeconds: number;
  drainSeconds: number;
  /** Extra settings of the API instances. */
  env?: Record<string, string>;
}

export const PROFILES: Record<string, Profile> = {
  short: {
    name: "short",
    users: 40,
    groups: 4,
    groupSize: 10,
    directs: 20,
    rate: 15,
    maxInFlight: 40,
    loadSeconds: 30,
    sendTimeoutMs: 2000,
    killAt: 5,
    restartAfter: 4,
    stopAt: 13,
    stopSeconds: 3,
    redisCutAt: 21,
    redisCutSeconds: 2,
    drainSeconds: 25,
  },
  full: {
    name: "full",
    users: 200,
    groups: 20,
    groupSize: 10,
    directs: 100,
    rate: 20,
    maxInFlight: 100,
    loadSeconds: 90,
    sendTimeoutMs: 3000,
    killAt: 10,
    restartAfter: 8,
    stopAt: 35,
    stopSeconds: 3,
    redisCutAt: 60,
    redisCutSeconds: 2,
    drainSeconds: 40,
  },
  /** The full profile at three times its rate: past capacity, sends must be shed (503) or slow, never lost or doubled. */
  overload: {
    name: "overload",
    users: 200,
    groups: 20,
    groupSize: 10,
    directs: 100,
    rate: 60,
    maxInFlight: 300,
    loadSeconds: 60,
    sendTimeoutMs: 3000,
    killAt: 10,
    restartAfter: 8,
    stopAt: 25,
    stopSeconds: 3,
    redisCutAt: 40,
    redisCutSeconds: 2,
    drainSeconds: 60,
    // Sized to what one instance completes in about a second here, so admitted requests are answered before the clients' 3 s.
    env: { MAX_IN_FLIGHT_REQUESTS: "16" },
  },
};

const SUBSCRIPTION = `subscription($c: ID!, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { id seq conversationId clientMessageId } }`;
const SEND_DIRECT = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq conversationId } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id seq conversationId } }`;
/** A send never acknowledged after this long is a failure. */
const GIVE_UP_MS = 60_000;
/** No pong from the server for this long: the client terminates the socket and moves on. */
const STALE_MS = 8000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();

interface Instance {
  name: "A" | "B";
  port: number;
  proc: ApiProcess | null;
  url: string;
}

interface User {
  index: number;
  id: string;
  token: string;
  home: 0 | 1;
}

interface Conversation {
  id: string;
  kind: "direct" | "group";
  /** groupId for groups, unused for directs. */
  groupId?: string;
  members: User[];
}

interface SentMessage {
  cmid: string;
  conversation: Conversation;
  sender: User;
  firstAttemptAt: number;
  ackedAt: number | null;
  ackIds: string[];
  attempts: number;
  /** Member deliveries seen, and when the last one arrived. */
  delivered: number;
  fullyDeliveredAt: number | null;
}

interface Received {
  last: number;
  ids: string[];
  seqs: number[];
}

export interface FaultFigure {
  fault: string;
  startedAt: number;
  /** Messages whose first attempt fell in the fault's window. */
  caught: number;
  /** From the fault's start until every caught message was acknowledged and delivered to all members (ms). */
  recoveryMs: number | null;
}

export interface HarnessReport {
  profile: string;
  sends: number;
  skippedTicks: number;
  committed: number;
  deliveriesExpected: number;
  deliveriesReceived: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** The same, leaving out sends begun during a fault and until its recovery. */
  steadyP50Ms: number;
  steadyP99Ms: number;
  attempts: number;
  retries: number;
  /** The most attempts one send needed, and the longest from a first attempt to its acknowledgement (starvation shows here). */
  maxAttempts: number;
  ackP99Ms: number;
  ackMaxMs: number;
  timeouts: number;
  shed503: number;
  rateLimited: number;
  closeCodes: Record<string, number>;
  reconnects: number;
  faults: FaultFigure[];
  presenceOfflineAfterKillMs: number | null;
  presenceBoundMs: number;
  /** Error-level log lines of the instances, by instance and message. */
  errorLogs: Record<string, number>;
  violations: string[];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One user's graphql-ws client: a subscription per conversation, resumed with afterSeq on the other instance after any disconnect. */
class MemberClient {
  client: Client | null = null;
  private generation = 0;
  private instance: 0 | 1;
  private lastPong = now();
  private staleTimer: NodeJS.Timeout | null = null;
  readonly received = new Map<string, Received>();
  stopped = false;

  constructor(
    readonly user: User,
    readonly conversations: Conversation[],
    private readonly h: Harness,
    /** Ghost clients never reconnect (presence must turn them OFFLINE after their instance dies). */
    private readonly reconnect = true,
  ) {
    this.instance = user.home;
    for (const c of conversations) this.received.set(c.id, { last: 0, ids: [], seqs: [] });
  }

  connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const inst = this.h.instances[this.instance];
    this.lastPong = now();
    const client = createClient({
      url: inst.url.replace(/^http/, "ws") + "/graphql",
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      keepAlive: 1000,
      connectionParams: { authorization: `Bearer ${this.user.token}` },
      on: {
        pong: () => (this.lastPong = now()),
        message: () => (this.lastPong = now()),
        closed: (e) => this.lost(generation, (e as { code?: number }).code ?? "error"),
        error: () => this.lost(generation, "error"),
      },
      onNonLazyError: () => this.lost(generation, "error"),
    });
    this.client = client;
    for (const c of this.conversations) {
      const r = this.received.get(c.id)!;
      client.subscribe<{ messageAdded: { id: string; seq: number; conversationId: string; clientMessageId: string | null } }>(
        { query: SUBSCRIPTION, variables: { c: c.id, a: r.last } },
        {
          next: (result) => {
            if (generation !== this.generation) return;
            if (result.errors?.length)
              return void this.h.violation(`user ${this.user.index} conversation ${c.id}: subscription error ${JSON.stringify(result.errors)}`);
            const m = result.data?.messageAdded;
            if (m) this.deliver(c, m);
          },
          error: () => this.lost(generation, "subscription error"),
          complete: () => this.lost(generation, "subscription complete"),
        },
      );
    }
    this.staleTimer ??= setInterval(() => {
      if (this.client && now() - this.lastPong > STALE_MS) this.client.terminate();
    }, 1000);
  }

  private deliver(c: Conversation, m: { id: string; seq: number; clientMessageId: string | null }): void {
    const r = this.received.get(c.id)!;
    if (m.seq <= r.last) return void this.h.violation(`user ${this.user.index} conversation ${c.id}: seq ${m.seq} again after ${r.last} (duplicate)`);
    if (m.seq !== r.last + 1) this.h.violation(`user ${this.user.index} conversation ${c.id}: seq ${m.seq} after ${r.last} (gap)`);
    r.last = m.seq;
    r.ids.push(m.id);
    r.seqs.push(m.seq);
    this.h.delivered(m.clientMessageId);
  }

  private lost(generation: number, code: number | string): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    this.h.closeCodes[String(code)] = (this.h.closeCodes[String(code)] ?? 0) + 1;
    const old = this.client;
    this.client = null;
    void old?.dispose();
    if (!this.reconnect) return;
    this.h.reconnects++;
    this.instance = this.instance === 0 ? 1 : 0;
    setTimeout(() => this.connect(), 100 + Math.random() * 300);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.staleTimer) clearInterval(this.staleTimer);
    await this.client?.dispose();
  }
}

export class Harness {
  instances: [Instance, Instance] = [null as never, null as never];
  /** Processes killed and replaced (their output is still read at the end). */
  private readonly retired: Instance[] = [];
  db!: DbProcess;
  proxy!: TcpProxy;
  private mongo!: MongoClient;
  private dataDir = "";
  private env: Record<string, string> = {};
  users: User[] = [];
  conversations: Conversation[] = [];
  clients: MemberClient[] = [];
  ghosts: MemberClient[] = [];
  readonly sent = new Map<string, SentMessage>();
  readonly violations: string[] = [];
  readonly closeCodes: Record<string, number> = {};
  reconnects = 0;
  private loadStart = 0;
  /** Per delivery: [first send attempt of the message, latency]. */
  private latencies: Array<[number, number]> = [];
  private counters = { attempts: 0, timeouts: 0, shed503: 0, rateLimited: 0, skippedTicks: 0 };
  private faults: Array<{ fault: string; start: number; end: number }> = [];
  private presenceOfflineAfterKillMs: number | null = null;
  private readonly dbName = `faults_${randomUUID().slice(0, 8)}`;

  constructor(
    readonly profile: Profile,
    private readonly redisUrl: string,
  ) {}

  violation(text: string): void {
    // Bounded: a broken run would otherwise print thousands of lines.
    if (this.violations.length < 200) this.violations.push(text);
    else if (this.violations.length === 200) this.violations.push("… more violations left out");
  }

  delivered(cmid: string | null): void {
    if (!cmid) return;
    const m = this.sent.get(cmid);
    if (!m) return;
    m.delivered += 1;
    this.latencies.push([m.firstAttemptAt, now() - m.firstAttemptAt]);
    if (m.delivered === m.conversation.members.length) m.fullyDeliveredAt = now();
  }

  async start(): Promise<void> {
    this.dataDir = await mkdtemp(path.join(tmpdir(), "letsapp-faults-"));
    // A transaction of the killed instance keeps its conversation's documents until this limit
    // (MongoDB's default is 60 s): set as the README asks operators to.
    this.db = await startDbProcess(["--transactionLifetimeLimitSeconds", "10"]);
    this.proxy = await startTcpProxy(this.redisUrl);
    this.mongo = new MongoClient(this.db.uriFor(this.dbName));
    await this.mongo.connect();
    this.env = {
      NODE_ENV: "production",
      JWT_SECRET: "faults-secret-that-is-long-enough-0123456789",
      MONGODB_URI: this.db.uriFor(this.dbName),
      REDIS_URL: this.proxy.url,
      DATA_DIR: this.dataDir,
      UPLOAD_DIR: path.join(this.dataDir, "uploads"),
      ACCESS_TOKEN_TTL_SECONDS: "7200",
      PRESENCE_INSTANCE_TTL_SECONDS: "4",
      PRESENCE_GRACE_MS: "1000",
      WS_PING_INTERVAL_MS: "5000",
      // Load-test users are far past what the abuse limits allow a person.
      REGISTER_RATE_LIMIT: "100000/1",
      MESSAGE_RATE_LIMIT: "100000/1",
      STRANGER_MESSAGE_RATE_LIMIT: "100000/1",
      GROUP_RATE_LIMIT: "100000/1",
      CONTACT_REQUEST_RATE_LIMIT: "100000/1",
      TYPING_RATE_LIMIT: "100000/1",
      ...this.profile.env,
    };
    const ports = [await freePort(), await freePort()];
    const [a, b] = await Promise.all(ports.map((p) => startApiProcess(this.env, p)));
    this.instances = [
      { name: "A", port: a.port, proc: a, url: a.url },
      { name: "B", port: b.port, proc: b, url: b.url },
    ];
  }

  private async gql<T>(instance: number, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    const res = await fetch(`${this.instances[instance].url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (body.errors || !body.data) throw new Error(`setup request failed (${res.status}): ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  /** Users, groups and direct conversations (each opened with a first message), then every member's client. */
  async setUp(): Promise<void> {
    const p = this.profile;
    const total = p.users + 2;
    const register = async (i: number): Promise<User> => {
      const d = await this.gql<{ register: { accessToken: string; user: { id: string } } }>(
        i % 2,
        `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
        {
          i: { username: `f${i}_${this.dbName.slice(-4)}`, email: `f${i}_${this.dbName.slice(-4)}@example.com`, password: "password-123" },
        },
      );
      return { index: i, id: d.register.user.id, token: d.register.accessToken, home: (i % 2) as 0 | 1 };
    };
    const all: User[] = [];
    for (let i = 0; i < total; i += 4) all.push(...(await Promise.all(Array.from({ length: Math.min(4, total - i) }, (_, k) => register(i + k)))));
    this.users = all.slice(0, p.users);
    const ghosts = all.slice(p.users);

    for (let g = 0; g < p.groups; g++) {
      const members = Array.from({ length: p.groupSize }, (_, k) => this.users[(g * p.groupSize + k) % p.users]);
      const d = await this.gql<{ createGroup: { id: string } }>(
        g % 2,
        `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
        { i: { name: `group ${g}`, memberIds: members.slice(1).map((u) => u.id) } },
        members[0].token,
      );
      const sent = await this.gql<{ sendGroupMessage: { conversationId: string } }>(
        g % 2,
        SEND_GROUP,
        { i: { groupId: d.createGroup.id, content: "hello group", clientMessageId: randomUUID() } },
        members[0].token,
      );
      this.conversations.push({ id: sent.sendGroupMessage.conversationId, kind: "group", groupId: d.createGroup.id, members });
    }
    for (let k = 0; k < p.directs; k++) {
      const a = this.users[(2 * k) % p.users];
      const b = this.users[(2 * k + 1) % p.users];
      const sent = await this.gql<{ sendMessage: { conversationId: string } }>(
        k % 2,
        SEND_DIRECT,
        { i: { recipientId: b.id, content: "hello", clientMessageId: randomUUID() } },
        a.token,
      );
      this.conversations.push({ id: sent.sendMessage.conversationId, kind: "direct", members: [a, b] });
    }
    // Ghosts: one direct conversation, connected to A only, never reconnecting.
    const ghostConv = await this.gql<{ sendMessage: { conversationId: string } }>(
      0,
      SEND_DIRECT,
      { i: { recipientId: ghosts[1].id, content: "boo", clientMessageId: randomUUID() } },
      ghosts[0].token,
    );
    const gc: Conversation = { id: ghostConv.sendMessage.conversationId, kind: "direct", members: ghosts };
    for (const gh of ghosts) {
      gh.home = 0;
      this.ghosts.push(new MemberClient(gh, [gc], this, false));
    }

    for (const u of this.users) {
      const mine = this.conversations.filter((c) => c.members.includes(u));
      this.clients.push(new MemberClient(u, mine, this));
    }
    for (const c of [...this.clients, ...this.ghosts]) c.connect();
    // Every client subscribed (its replay of the opening messages arrived) before the load.
    const deadline = now() + 60_000;
    while (now() < deadline && !this.clients.every((c) => [...c.received.values()].every((r) => r.last >= 1))) await sleep(200);
  }

  private async send(m: SentMessage): Promise<void> {
    let instance: 0 | 1 = m.sender.home;
    const input =
      m.conversation.kind === "group"
        ? {
            query: SEND_GROUP,
            variables: { i: { groupId: m.conversation.groupId, content: `m ${m.cmid}`, clientMessageId: m.cmid } },
            field: "sendGroupMessage",
          }
        : {
            query: SEND_DIRECT,
            variables: { i: { recipientId: m.conversation.members.find((u) => u !== m.sender)!.id, content: `m ${m.cmid}`, clientMessageId: m.cmid } },
            field: "sendMessage",
          };
    const other = () => (instance = instance === 0 ? 1 : 0);
    // The retry ticket of the first 503 (README "Reliability"): sent with every later attempt,
    // on either instance, so this send waits in line by the age of its first refusal.
    let ticket: string | null = null;
    let unanswered = 0;
    let last = "";
    while (now() - m.firstAttemptAt < GIVE_UP_MS) {
      m.attempts++;
      this.counters.attempts++;
      let res: Response;
      let body: { data?: Record<string, { id: string }>; errors?: Array<{ message: string; extensions?: { code?: string } }> };
      try {
        res = await fetch(`${this.instances[instance].url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${m.sender.token}`, ...(ticket ? { "x-retry-ticket": ticket } : {}) },
          body: JSON.stringify({ query: input.query, variables: input.variables }),
          signal: AbortSignal.timeout(this.profile.sendTimeoutMs),
        });
        body = (await res.json()) as typeof body;
      } catch {
        // No answer in time, or the instance is gone: the same send on the other instance,
        // after a jittered back-off that grows with each unanswered attempt (as clients should).
        this.counters.timeouts++;
        last = "no answer";
        unanswered++;
        other();
        await sleep(Math.min(4000, 100 * 2 ** Math.min(unanswered, 6)) * (0.5 + Math.random() / 2));
        continue;
      }
      if (res.status === 503) {
        this.counters.shed503++;
        last = "503";
        const retryAfter = Number(res.headers.get("retry-after"));
        if (!(retryAfter > 0)) this.violation(`503 without Retry-After from ${this.instances[instance].name}: ${JSON.stringify(body)}`);
        ticket ??= res.headers.get("x-retry-ticket");
        other();
        await sleep(Math.min(5, retryAfter || 1) * 1000 * (0.5 + Math.random() / 2));
        continue;
      }
      if (res.status >= 500) {
        this.violation(`HTTP ${res.status} from ${this.instances[instance].name} for ${m.cmid}: ${JSON.stringify(body).slice(0, 300)}`);
        other();
        continue;
      }
      const error = body.errors?.[0];
      if (error) {
        if (error.extensions?.code === "RATE_LIMITED") {
          this.counters.rateLimited++;
          await sleep(500);
          continue;
        }
        last = `${error.extensions?.code}`;
        this.violation(`send ${m.cmid} refused (${res.status}): ${error.extensions?.code} ${error.message}`);
        other();
        await sleep(200);
        continue;
      }
      m.ackedAt = now();
      m.ackIds.push(body.data![input.field].id);
      return;
    }
    this.violation(
      `send ${m.cmid} (${m.conversation.kind} ${m.conversation.id}, first tried at ${Math.round((m.firstAttemptAt - this.loadStart) / 1000)} s) never acknowledged in ${GIVE_UP_MS / 1000} s (${m.attempts} attempts, last: ${last})`,
    );
  }

  /** A deliberate retry of an acknowledged send, on the other instance: must return the same message. */
  private async resend(m: SentMessage): Promise<void> {
    const instance = m.sender.home === 0 ? 1 : 0;
    const field = m.conversation.kind === "group" ? "sendGroupMessage" : "sendMessage";
    const variables =
      m.conversation.kind === "group"
        ? { i: { groupId: m.conversation.groupId, content: `m ${m.cmid}`, clientMessageId: m.cmid } }
        : { i: { recipientId: m.conversation.members.find((u) => u !== m.sender)!.id, content: `m ${m.cmid}`, clientMessageId: m.cmid } };
    try {
      const res = await fetch(`${this.instances[instance].url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${m.sender.token}` },
        body: JSON.stringify({ query: field === "sendGroupMessage" ? SEND_GROUP : SEND_DIRECT, variables }),
        signal: AbortSignal.timeout(this.profile.sendTimeoutMs),
      });
      const body = (await res.json()) as { data?: Record<string, { id: string }> };
      if (res.status >= 500 && res.status !== 503) this.violation(`HTTP ${res.status} on a deliberate retry`);
      const id = body.data?.[field]?.id;
      if (id) m.ackIds.push(id);
    } catch {
      // Unanswered during a fault: nothing to compare.
    }
  }

  /** The steady load, with the faults on their schedule; resolves when every send has settled. */
  async run(): Promise<void> {
    const p = this.profile;
    const started = now();
    this.loadStart = started;
    const sends: Promise<void>[] = [];
    let inFlight = 0;
    const faults = this.injectFaults(started);
    const interval = 1000 / p.rate;
    for (let tick = 0; now() - started < p.loadSeconds * 1000; tick++) {
      const due = started + tick * interval;
      if (due > now()) await sleep(due - now());
      if (inFlight >= p.maxInFlight) {
        this.counters.skippedTicks++;
        continue;
      }
      const conversation = this.conversations[Math.floor(Math.random() * this.conversations.length)];
      const sender = conversation.members[Math.floor(Math.random() * conversation.members.length)];
      const m: SentMessage = {
        cmid: randomUUID(),
        conversation,
        sender,
        firstAttemptAt: now(),
        ackedAt: null,
        ackIds: [],
        attempts: 0,
        delivered: 0,
        fullyDeliveredAt: null,
      };
      this.sent.set(m.cmid, m);
      inFlight++;
      sends.push(
        this.send(m)
          .then(() => (m.ackedAt !== null && Math.random() < 0.05 ? this.resend(m) : undefined))
          .finally(() => inFlight--),
      );
    }
    await faults;
    await Promise.all(sends);
  }

  private async injectFaults(started: number): Promise<void> {
    const p = this.profile;
    const at = (s: number) => sleep(Math.max(0, started + s * 1000 - now()));
    const a = this.instances[0];
    const b = this.instances[1];

    await at(p.killAt);
    const killedAt = now();
    a.proc!.kill("SIGKILL");
    this.faults.push({ fault: "SIGKILL instance A", start: killedAt, end: killedAt + 1000 });
    const presence = this.watchGhostPresence(killedAt);
    await sleep(p.restartAfter * 1000);
    this.retired.push({ ...a });
    a.proc = await startApiProcess(this.env, a.port);

    await at(p.stopAt);
    const stoppedAt = now();
    b.proc!.kill("SIGSTOP");
    await sleep(p.stopSeconds * 1000);
    b.proc!.kill("SIGCONT");
    this.faults.push({ fault: `SIGSTOP instance B for ${p.stopSeconds} s`, start: stoppedAt, end: now() });

    await at(p.redisCutAt);
    const cutAt = now();
    this.proxy.down();
    await sleep(p.redisCutSeconds * 1000);
    this.proxy.up();
    this.faults.push({ fault: `Redis cut for ${p.redisCutSeconds} s`, start: cutAt, end: now() });
    await presence;
  }

  /** The ghosts were only on A: once A is killed they must turn OFFLINE (instance TTL + sweep + grace). */
  private async watchGhostPresence(killedAt: number): Promise<void> {
    const ids = this.ghosts.map((g) => new ObjectId(g.user.id));
    const deadline = killedAt + this.presenceBoundMs() + 15_000;
    while (now() < deadline) {
      const docs = await this.mongo
        .db()
        .collection("presence")
        .find({ user_id: { $in: ids } })
        .toArray();
      if (docs.length === ids.length && docs.every((d) => d.status === "offline")) {
        this.presenceOfflineAfterKillMs = now() - killedAt;
        return;
      }
      await sleep(250);
    }
  }

  /** Instance TTL (4 s), one heartbeat period of the sweeping instance, the grace (1 s), and slack for a loaded machine. */
  presenceBoundMs(): number {
    return 4000 + 4000 / 3 + 1000 + 5000;
  }

  private async committed(): Promise<Map<string, Array<{ id: string; seq: number; cmid: string | null }>>> {
    const out = new Map<string, Array<{ id: string; seq: number; cmid: string | null }>>();
    const db = this.mongo.db();
    for (const c of this.conversations) {
      const coll = c.kind === "group" ? "group_messages" : "messages";
      const docs = await db
        .collection(coll)
        .find({ conversation_id: new ObjectId(c.id) }, { projection: { _id: 1, seq: 1, client_message_id: 1 } })
        .sort({ seq: 1 })
        .toArray();
      out.set(
        c.id,
        docs.map((d) => ({ id: String(d._id), seq: d.seq as number, cmid: (d.client_message_id as string | undefined) ?? null })),
      );
    }
    return out;
  }

  /** Waits until every member holds every committed message (or the drain time is over). */
  async drain(): Promise<void> {
    const deadline = now() + this.profile.drainSeconds * 1000;
    while (now() < deadline) {
      const committed = await this.committed();
      const behind = this.clients.some((cl) => cl.conversations.some((c) => cl.received.get(c.id)!.last < (committed.get(c.id)?.at(-1)?.seq ?? 0)));
      if (!behind) return;
      await sleep(500);
    }
  }

  async check(): Promise<HarnessReport> {
    const committed = await this.committed();
    let expected = 0;
    let received = 0;
    const byCmid = new Map<string, Array<{ id: string }>>();
    for (const c of this.conversations) {
      const list = committed.get(c.id)!;
      for (const m of list) if (m.cmid) byCmid.set(m.cmid, [...(byCmid.get(m.cmid) ?? []), m]);
      const seqs = new Set(list.map((m) => m.seq));
      const top = list.at(-1)?.seq ?? 0;
      const holes = Array.from({ length: top }, (_, i) => i + 1).filter((q) => !seqs.has(q));
      if (holes.length || seqs.size !== list.length)
        this.violation(
          `conversation ${c.id} (${c.kind}): the database holds seqs 1..${top} with holes [${holes.join(",")}] and ${list.length - seqs.size} doubled`,
        );
      const ids = list.map((m) => m.id);
      for (const cl of this.clients.filter((x) => c.members.includes(x.user))) {
        const got = cl.received.get(c.id)!;
        expected += ids.length;
        received += got.ids.length;
        if (got.ids.length === ids.length && got.ids.every((id, i) => id === ids[i])) continue;
        const missing = list.filter((m) => !got.ids.includes(m.id)).map((m) => m.seq);
        const extra = got.ids.length - new Set(got.ids).size;
        this.violation(
          `user ${cl.user.index} conversation ${c.id} (${c.kind}): received ${got.ids.length} of ${ids.length}; missing seqs [${missing.slice(0, 20).join(",")}${missing.length > 20 ? ",…" : ""}], ${extra} duplicates`,
        );
      }
    }
    for (const m of this.sent.values()) {
      const stored = byCmid.get(m.cmid) ?? [];
      if (stored.length !== 1) this.violation(`clientMessageId ${m.cmid}: ${stored.length} messages in the database (acknowledged: ${m.ackedAt !== null})`);
      if (m.ackedAt === null) continue;
      const ids = new Set(m.ackIds);
      if (ids.size !== 1 || (stored.length === 1 && !ids.has(stored[0].id)))
        this.violation(`clientMessageId ${m.cmid}: acknowledged with ids ${[...ids].join(",")}, stored ${stored.map((s) => s.id).join(",")}`);
    }
    const faults: FaultFigure[] = this.faults.map((f) => {
      const caught = [...this.sent.values()].filter((m) => m.firstAttemptAt >= f.start && m.firstAttemptAt <= f.end);
      const done = caught.map((m) => (m.ackedAt === null || m.fullyDeliveredAt === null ? null : Math.max(m.ackedAt, m.fullyDeliveredAt)));
      const recoveryMs = done.includes(null) ? null : Math.max(f.end, ...(done as number[])) - f.start;
      return { fault: f.fault, startedAt: f.start, caught: caught.length, recoveryMs };
    });
    if (this.presenceOfflineAfterKillMs === null)
      this.violation(`the killed instance's only users did not turn OFFLINE within ${Math.round((this.presenceBoundMs() + 15_000) / 1000)} s`);
    else if (this.presenceOfflineAfterKillMs > this.presenceBoundMs())
      this.violation(`the killed instance's users turned OFFLINE after ${Math.round(this.presenceOfflineAfterKillMs)} ms, past ${this.presenceBoundMs()} ms`);
    // Internal errors (a 500, a failed WebSocket operation) are violations; other error lines
    // (a background task that could not reach Redis during the cut) are counted and shown.
    const errorLogs: Record<string, number> = {};
    for (const inst of [...this.instances, ...this.retired]) {
      for (const line of (inst.proc?.output() ?? "").split("\n")) {
        if (!line.includes('"level":50') && !line.includes('"level":60')) continue;
        const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 120);
        if (/internal error/i.test(msg)) this.violation(`instance ${inst.name} logged: ${line.slice(0, 600)}`);
        errorLogs[`${inst.name}: ${msg}`] = (errorLogs[`${inst.name}: ${msg}`] ?? 0) + 1;
      }
    }
    return {
      profile: this.profile.name,
      sends: this.sent.size,
      skippedTicks: this.counters.skippedTicks,
      committed: [...committed.values()].reduce((n, l) => n + l.length, 0),
      deliveriesExpected: expected,
      deliveriesReceived: received,
      latencyP50Ms: Math.round(
        percentile(
          this.latencies.map((l) => l[1]),
          50,
        ),
      ),
      latencyP99Ms: Math.round(
        percentile(
          this.latencies.map((l) => l[1]),
          99,
        ),
      ),
      // Outside the faults: sends begun before a fault or after its recovery.
      ...((): { steadyP50Ms: number; steadyP99Ms: number } => {
        const windows = faults.map((f) => [f.startedAt, f.startedAt + (f.recoveryMs ?? Infinity)]);
        const steady = this.latencies.filter(([at]) => !windows.some(([a, b]) => at >= a && at <= b)).map((l) => l[1]);
        return { steadyP50Ms: Math.round(percentile(steady, 50)), steadyP99Ms: Math.round(percentile(steady, 99)) };
      })(),
      attempts: this.counters.attempts,
      retries: this.counters.attempts - this.sent.size,
      maxAttempts: Math.max(0, ...[...this.sent.values()].map((m) => m.attempts)),
      ...((): { ackP99Ms: number; ackMaxMs: number } => {
        const acks = [...this.sent.values()].filter((m) => m.ackedAt !== null).map((m) => m.ackedAt! - m.firstAttemptAt);
        return { ackP99Ms: Math.round(percentile(acks, 99)), ackMaxMs: Math.round(Math.max(0, ...acks)) };
      })(),
      timeouts: this.counters.timeouts,
      shed503: this.counters.shed503,
      rateLimited: this.counters.rateLimited,
      closeCodes: { ...this.closeCodes },
      reconnects: this.reconnects,
      faults,
      presenceOfflineAfterKillMs: this.presenceOfflineAfterKillMs === null ? null : Math.round(this.presenceOfflineAfterKillMs),
      presenceBoundMs: this.presenceBoundMs(),
      errorLogs,
      violations: [...this.violations],
    };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clients, ...this.ghosts].map((c) => c.stop().catch(() => undefined)));
    for (const inst of this.instances) {
      if (!inst?.proc) continue;
      inst.proc.kill("SIGCONT");
      inst.proc.kill("SIGKILL");
      await inst.proc.exited;
    }
    await this.mongo?.close().catch(() => undefined);
    if (this.db) {
      this.db.kill("SIGKILL");
      await this.db.exited;
    }
    await this.proxy?.close();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

export function formatReport(r: HarnessReport): string {
  const lines = [
    `fault-injection run, profile ${r.profile}`,
    `  sends ${r.sends} (attempts ${r.attempts}, retries ${r.retries}, timeouts ${r.timeouts}, 503 shed ${r.shed503}, RATE_LIMITED ${r.rateLimited}, skipped ticks ${r.skippedTicks})`,
    `  acknowledgement (first attempt → acknowledged) p99 ${r.ackP99Ms} ms, max ${r.ackMaxMs} ms; most attempts of one send ${r.maxAttempts}`,
    `  committed ${r.committed}; deliveries ${r.deliveriesReceived} of ${r.deliveriesExpected}`,
    `  delivery latency (first send attempt → member received) p50 ${r.latencyP50Ms} ms, p99 ${r.latencyP99Ms} ms; outside the faults p50 ${r.steadyP50Ms} ms, p99 ${r.steadyP99Ms} ms`,
    `  socket closes seen by clients ${JSON.stringify(r.closeCodes)}, reconnects ${r.reconnects}`,
    ...r.faults.map((f) => `  ${f.fault}: ${f.caught} sends caught, recovered in ${f.recoveryMs === null ? "NEVER" : `${Math.round(f.recoveryMs)} ms`}`),
    `  presence: the killed instance's users OFFLINE after ${r.presenceOfflineAfterKillMs ?? "NEVER"} ms (bound ${Math.round(r.presenceBoundMs)} ms)`,
    `  error log lines ${JSON.stringify(r.errorLogs)}`,
    `  violations: ${r.violations.length}`,
    ...r.violations.slice(0, 60).map((v) => `    - ${v}`),
  ];
  return lines.join("\n");
}
