/**
 * The TCP server: frames messages per connection, dispatches commands against the shared
 * storage, and keeps one bad client from affecting the others. A message with an impossible
 * length or an unknown opcode closes that connection (as mongod does); a message whose body
 * cannot be parsed gets an error reply; a handler error becomes `{ ok: 0, code, codeName }`.
 */
import net from "node:net";
import { MongoServerError, toServerError } from "./errors.js";
import { runCommand, commandName, type CommandContext, type ServerInfo } from "./commands/index.js";
import { CursorTable, Storage } from "./storage.js";
import { ChangeLog } from "./changes.js";
import { SessionTable } from "./transactions.js";
import {
  COMMAND_COLLECTION_SUFFIX,
  HEADER_SIZE,
  LENGTH_PREFIX_SIZE,
  MAX_MESSAGE_SIZE,
  MSG_MORE_TO_COME,
  OP_MSG,
  OP_QUERY,
  WireError,
  buildOpMsg,
  buildOpReply,
  parseOpMsg,
  parseOpQuery,
  readHeader,
} from "./wire.js";
import type { Doc } from "./values.js";
import { FailPoints, testCommandsDisabled } from "./failpoints.js";
import { type WriteConcernPlan, planWriteConcern, withWriteConcernError } from "./writeconcern.js";

const HANDSHAKE_COMMANDS = new Set(["hello", "isMaster", "ismaster"]);

export interface WireServerOptions {
  host: string;
  port: number;
  replicaSet: string | null;
  /** How often TTL indexes are enforced (MongoDB's monitor runs every 60 s; we go faster). */
  ttlSweepMs: number;
  /** Idle cursors are closed after this long (MongoDB: 10 minutes). */
  cursorTimeoutMs: number;
  /** Entries the change log keeps (change streams' history, transactions' snapshots). */
  changeLogSize: number;
  /** An open transaction older than this is aborted (MongoDB's transactionLifetimeLimitSeconds). */
  transactionLifetimeMs: number;
  /** configureFailPoint (failCommand) for tests, as mongod's enableTestCommands. */
  enableTestCommands?: boolean;
}

/**
 * What a write's reply waits for when the data is on disk (the journal): `appended` grows as the
 * storage records changes; `writeThrough()` hands them to the kernel (then the write survives
 * kill -9); `durable(seq)` resolves once record `seq` is synced (then it survives power loss).
 */
export interface WriteBarrier {
  readonly appended: number;
  /** "always": every write waits for its sync; "interval": only writes whose write concern asks. */
  readonly syncMode: "always" | "interval";
  writeThrough(): void;
  durable(seq: number): Promise<void>;
}

export class WireServer {
  /** Set before listen() when the data lives on disk; in memory otherwise. */
  barrier: WriteBarrier | null = null;
  readonly storage = new Storage();
  readonly cursors = new CursorTable();
  readonly changes: ChangeLog;
  readonly sessions: SessionTable;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private nextConnectionId = 1;
  private nextRequestId = 1;
  private totalCreated = 0;
  private timers: NodeJS.Timeout[] = [];
  private info!: ServerInfo;
  private readonly failPoints: FailPoints | null;

  constructor(private readonly options: WireServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.failPoints = options.enableTestCommands ? new FailPoints() : null;
    this.changes = new ChangeLog({ maxEntries: options.changeLogSize });
    this.sessions = new SessionTable(this.storage, this.changes);
    // The one point where applied writes enter the change log.
    this.storage.onWrite = (coll, change) =>
      this.changes.record({
        db: coll.db,
        coll: coll.name,
        op: change.op,
        before: change.before,
        after: change.after,
        preImage: (coll.options.changeStreamPreAndPostImages as { enabled?: boolean } | undefined)?.enabled === true,
      });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const port = (this.server.address() as net.AddressInfo).port;
    this.info = {
      host: this.options.host,
      port,
      replicaSet: this.options.replicaSet,
      startedAt: new Date(),
      connections: () => ({ current: this.sockets.size, totalCreated: this.totalCreated }),
      opcounters: { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 },
      commands: new Map(),
    };
    this.timers.push(setInterval(() => this.storage.sweepExpired(), this.options.ttlSweepMs).unref());
    this.timers.push(setInterval(() => this.cursors.reap(this.options.cursorTimeoutMs), 30_000).unref());
    const lifetime = this.options.transactionLifetimeMs;
    this.timers.push(setInterval(() => this.sessions.reap(Date.now(), lifetime), Math.min(1000, lifetime)).unref());
    return port;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.changes.wakeAll();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.sessions.clear();
    this.storage.clear();
    this.cursors.clear();
    this.changes.clear();
  }

  private accept(socket: net.Socket): void {
    const connectionId = this.nextConnectionId++;
    this.totalCreated++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const conn: Connection = { tail: null };
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    socket.on("data", (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Frame as many complete messages as have arrived.
      while (pendingBytes >= LENGTH_PREFIX_SIZE) {
        const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        pending = [buf];
        const length = buf.readInt32LE(0);
        if (length < HEADER_SIZE || length > MAX_MESSAGE_SIZE) {
          socket.destroy();
          return;
        }
        if (buf.length < length) return;
        const message = buf.subarray(0, length);
        const rest = buf.subarray(length);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        if (!this.handle(socket, conn, connectionId, message)) {
          socket.destroy();
          return;
        }
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
  }

  /** Handles one framed message; returns false when the connection must be closed. */
  private handle(socket: net.Socket, conn: Connection, connectionId: number, message: Buffer): boolean {
    const head = readHeader(message);
    const body = message.subarray(HEADER_SIZE);
    const send = (doc: Doc, legacy: boolean): void => {
      if (socket.destroyed) return;
      const requestId = this.nextRequestId++;
      socket.write(legacy ? buildOpReply(requestId, head.requestId, doc) : buildOpMsg(requestId, head.requestId, doc));
    };
    // A command that changed data is acknowledged only once its journal records are written
    // (and synced, when the write concern or the sync mode asks: writeconcern.ts); replies on
    // one connection keep their order behind it.
    const seqBefore = this.barrier?.appended ?? 0;
    const reply = (doc: Doc, legacy: boolean, wc: WriteConcernPlan | null = null): void => {
      const barrier = this.barrier;
      let wait: Promise<void> | null = null;
      if (wc?.unsatisfiable) doc = withWriteConcernError(doc, wc.unsatisfiable);
      if (barrier) {
        const changed = barrier.appended !== seqBefore;
        try {
          if (changed) barrier.writeThrough();
          // j:true waits even when this command changed nothing (a retried commit, a no-op
          // update): what it acknowledged before must be synced too.
          if (wc?.journal || (changed && barrier.syncMode === "always")) wait = barrier.durable(barrier.appended);
        } catch (err) {
          doc = withWriteConcernError(doc, journalFailure(err));
        }
      }
      if (!wait && !conn.tail) {
        send(doc, legacy);
        return;
      }
      const prev = conn.tail;
      const limit = wc?.limitMs ?? null;
      const next = (async () => {
        let out = doc;
        if (wait) {
          let timer: NodeJS.Timeout | undefined;
          try {
            const expired = limit === null ? null : new Promise<"expired">((r) => (timer = setTimeout(() => r("expired"), limit)));
            if ((await (expired ? Promise.race([wait, expired]) : wait)) === "expired") out = withWriteConcernError(out, wc!.limitError!);
          } catch (err) {
            out = withWriteConcernError(out, journalFailure(err));
          } finally {
            clearTimeout(timer);
          }
        }
        if (prev) await prev;
        send(out, legacy);
      })();
      conn.tail = next;
      void next.finally(() => {
        if (conn.tail === next) conn.tail = null;
      });
    };
    if (head.opCode === OP_QUERY) {
      try {
        const { collection, query } = parseOpQuery(body);
        const cmd = (query.$query && typeof query.$query === "object" ? query.$query : query) as Doc;
        if (!collection.endsWith(COMMAND_COLLECTION_SUFFIX) || !HANDSHAKE_COMMANDS.has(commandName(cmd))) {
          reply({ ok: 0, errmsg: "Unsupported OP_QUERY command: use OP_MSG", code: 352, codeName: "UnsupportedOpQueryCommand" }, true);
          return true;
        }
        const result = this.execute(cmd, collection.slice(0, -COMMAND_COLLECTION_SUFFIX.length), connectionId);
        if (result instanceof Promise) void result.then((r) => reply(r, true));
        else reply(result, true);
      } catch (err) {
        reply(errorReply(err), true);
      }
      return true;
    }
    if (head.opCode !== OP_MSG) return false;
    let flags = 0;
    try {
      const req = parseOpMsg(body);
      flags = req.flags;
      const db = typeof req.command.$db === "string" ? req.command.$db : null;
      const name = commandName(req.command);
      if (name === "configureFailPoint") {
        reply(this.failPoints ? this.failPoints.configure(req.command) : testCommandsDisabled().toReply(), false);
        return true;
      }
      const fail = this.failPoints?.match(name, req.command) ?? null;
      if (fail?.closeConnection) return false;
      if (fail?.error) {
        reply(fail.error, false);
        return true;
      }
      const wc = planWriteConcern(req.command);
      if (fail?.writeConcernError) wc.unsatisfiable = fail.writeConcernError;
      const result =
        db === null
          ? new MongoServerError("InvalidNamespace", "OP_MSG requests require a $db argument").toReply()
          : this.execute(req.command, db, connectionId);
      const more = (flags & MSG_MORE_TO_COME) !== 0;
      if (result instanceof Promise) void result.then((r) => !more && !socket.destroyed && reply(r, false, wc));
      else if (!more) reply(result, false, wc);
    } catch (err) {
      if (err instanceof WireError && err.fatal) return false;
      if (!(flags & MSG_MORE_TO_COME)) reply(errorReply(err), false);
    }
    return true;
  }

  private execute(cmd: Doc, db: string, connectionId: number): Doc | Promise<Doc> {
    const ctx: CommandContext = {
      storage: this.storage,
      cursors: this.cursors,
      server: this.info,
      db,
      connectionId,
      sessions: this.sessions,
      changes: this.changes,
    };
    const name = commandName(cmd);
    const counter = name === "find" ? "query" : name === "getMore" ? "getmore" : name in this.info.opcounters ? name : "command";
    this.info.opcounters[counter]++;
    this.info.commands.set(name, (this.info.commands.get(name) ?? 0) + 1);
    try {
      const result = runCommand(cmd, ctx);
      return result instanceof Promise ? result.catch(errorReply) : result;
    } catch (err) {
      return errorReply(err);
    }
  }
}

interface Connection {
  /** The last reply still waiting (for durability), or null when replies can go out at once. */
  tail: Promise<void> | null;
}

/** The journal could not be written: the write is applied in memory, its durability is unknown. */
function journalFailure(err: unknown): Doc {
  return { code: 1, codeName: "InternalError", errmsg: `write applied but not journaled: ${(err as Error).message}` };
}

function errorReply(err: unknown): Doc {
  if (err instanceof WireError) return { ok: 0, errmsg: err.message, code: 22, codeName: "InvalidBSON" };
  return toServerError(err).toReply();
}
