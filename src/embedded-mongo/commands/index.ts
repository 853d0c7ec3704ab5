/**
 * The command table and dispatch. Generic fields every driver command may carry (read
 * preference, API version, retryable-write txnNumber) are accepted and ignored: a single node
 * applies each write at once; the write concern is answered when the reply goes out
 * (server.ts, writeconcern.ts). Session fields with `autocommit: false` route the command into
 * its multi-document transaction (see transactions.ts); a write outside one waits for the open
 * transactions holding a document it touches.
 */
import { Long } from "bson";
import { MongoServerError, badValue, transientError } from "../errors.js";
import type { Transaction } from "../transactions.js";
import { type Doc, isPlainObject } from "../values.js";
import { adminCommands } from "./admin.js";
import { aggregateCommands } from "./aggregate.js";
import { catalogCommands } from "./catalog.js";
import type { CommandContext, CommandHandler, CommandResult } from "./context.js";
import { crudCommands } from "./crud.js";
import { toolAggregate, toolCommands } from "./tools.js";

const COMMANDS: Record<string, CommandHandler> = {
  ...adminCommands,
  ...catalogCommands,
  ...crudCommands,
  ...aggregateCommands,
  // collMod/renameCollection live in tools.ts; they also feed the change log.
  ...toolCommands,
  // Reached only outside a transaction (inside one, runInTransaction answers them).
  commitTransaction: () => {
    throw badValue("commitTransaction must be run within a transaction");
  },
  abortTransaction: () => {
    throw badValue("abortTransaction must be run within a transaction");
  },
};

/** Writes that wait for an open transaction holding a document they touch. */
const WRITE_COMMANDS = new Set(["insert", "update", "delete", "findAndModify", "findandmodify"]);

/** What MongoDB lets a multi-document transaction run. */
const TRANSACTION_COMMANDS = new Set([
  "find",
  "getMore",
  "killCursors",
  "insert",
  "update",
  "delete",
  "findAndModify",
  "findandmodify",
  "aggregate",
  "distinct",
  "commitTransaction",
  "abortTransaction",
]);

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? "";
}

export function runCommand(cmd: Doc, ctx: CommandContext): CommandResult {
  const name = commandName(cmd);
  const handler = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!handler) throw new MongoServerError("CommandNotFound", `no such command: '${name}'`);
  if (cmd.txnNumber !== undefined && cmd.txnNumber !== null && !ctx.server.replicaSet) {
    throw new MongoServerError("IllegalOperation", "Transaction numbers are only allowed on a replica set member or mongos");
  }
  if (name === "endSessions" && Array.isArray(cmd.endSessions)) ctx.sessions.endSessions(cmd.endSessions);
  if (cmd.autocommit === false || cmd.startTransaction === true) return runInTransaction(name, handler, cmd, ctx);
  // $collStats/$currentOp pipelines and explain of aggregate (tools.ts), before the regular handlers.
  const tool = name === "aggregate" || name === "explain" ? toolAggregate(cmd, ctx) : null;
  if (tool) return tool;
  const run = (): CommandResult => (cmd.bypassDocumentValidation === true ? ctx.storage.withoutValidation(() => handler(cmd, ctx)) : handler(cmd, ctx));
  const blockers = blockingTransactions(name, cmd, ctx);
  return blockers.length ? waitForTransactions(blockers, name, cmd, ctx, run) : run();
}

/**
 * The open transactions holding a document this write (outside any transaction) would touch.
 * Found before anything is written, so a write that must wait has changed nothing (no
 * half-applied updateMany to redo). Free when no transaction holds a document of the collection.
 */
function blockingTransactions(name: string, cmd: Doc, ctx: CommandContext): Transaction[] {
  const field = name === "findandmodify" ? "findandmodify" : name;
  if (!WRITE_COMMANDS.has(name) || typeof cmd[field] !== "string") return [];
  const collName = cmd[field] as string;
  const { sessions, db } = ctx;
  if (!sessions.holdsIn(db, collName)) return [];
  const found = new Set<Transaction>();
  const check = (id: unknown): void => {
    const t = id === undefined ? undefined : sessions.holder(db, collName, id);
    if (t) found.add(t);
  };
  const coll = ctx.storage.get(db, collName);
  const matches = (q: unknown, opts: { limit?: number; sort?: Doc; collation?: unknown }): void => {
    if (!coll || !isPlainObject(q)) return;
    try {
      for (const d of coll.query(q, opts as never).docs) check(d._id);
    } catch {
      // A bad filter: the command itself reports it.
    }
  };
  if (name === "insert" && Array.isArray(cmd.documents)) {
    for (const d of cmd.documents) if (isPlainObject(d)) check(d._id);
  } else if (name === "update" && Array.isArray(cmd.updates)) {
    for (const st of cmd.updates as Doc[]) {
      if (!isPlainObject(st)) continue;
      matches(st.q, { limit: st.multi === true ? 0 : 1, collation: st.collation });
      // An upsert by _id would insert the document a transaction inserted (not yet visible).
      if (st.upsert === true && isPlainObject(st.q) && st.q._id !== undefined && !isPlainObject(st.q._id)) check(st.q._id);
    }
  } else if (name === "delete" && Array.isArray(cmd.deletes)) {
    for (const st of cmd.deletes as Doc[]) if (isPlainObject(st)) matches(st.q, { limit: st.limit === 1 ? 1 : 0, collation: st.collation });
  } else if (name === "findAndModify" || name === "findandmodify") {
    matches(cmd.query ?? {}, { limit: 1, sort: isPlainObject(cmd.sort) ? cmd.sort : undefined, collation: cmd.collation });
    const q = cmd.query as Doc | undefined;
    if (cmd.upsert === true && isPlainObject(q) && q._id !== undefined && !isPlainObject(q._id)) check(q._id);
  }
  return [...found];
}

/**
 * A write blocked by open transactions waits for them to end, then checks again (another
 * transaction may have taken the document meanwhile) and runs. maxTimeMS bounds the wait
 * (MaxTimeMSExpired, as MongoDB); without it, the transactions' lifetime limit does.
 */
async function waitForTransactions(first: Transaction[], name: string, cmd: Doc, ctx: CommandContext, run: () => CommandResult): Promise<Doc> {
  const maxTimeMS = typeof cmd.maxTimeMS === "number" && cmd.maxTimeMS > 0 ? cmd.maxTimeMS : 0;
  let timer: NodeJS.Timeout | undefined;
  const expired = maxTimeMS ? new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), maxTimeMS))) : null;
  try {
    let blockers = first;
    while (blockers.length) {
      const ended = Promise.all(blockers.map((t) => t.ended)).then(() => "ended" as const);
      if ((await (expired ? Promise.race([ended, expired]) : ended)) === "expired") {
        throw new MongoServerError("MaxTimeMSExpired", "operation exceeded time limit: waited for a transaction holding a document this write touches");
      }
      blockers = blockingTransactions(name, cmd, ctx);
    }
    return await run();
  } finally {
    clearTimeout(timer);
  }
}

function txnNumberOf(cmd: Doc): number {
  const v = cmd.txnNumber;
  if (v instanceof Long) return v.toNumber();
  if (typeof v === "number" || typeof v === "bigint") return Number(v);
  throw badValue("'autocommit' field requires a transaction number to also be specified");
}

function runInTransaction(name: string, handler: CommandHandler, cmd: Doc, ctx: CommandContext): CommandResult {
  if (cmd.autocommit !== false) throw badValue("'startTransaction' requires 'autocommit: false'");
  if (cmd.lsid === undefined || cmd.lsid === null) throw new MongoServerError("InvalidOptions", "Transactions require a session (lsid)");
  const lsid = cmd.lsid as Doc;
  const txnNumber = txnNumberOf(cmd);
  const sessions = ctx.sessions;
  const noSuch = (): MongoServerError => transientError("NoSuchTransaction", `Transaction with { txnNumber: ${txnNumber} } has been aborted.`);
  const txn = cmd.startTransaction === true ? sessions.start(lsid, txnNumber) : sessions.current(lsid);
  const mine = txn && txn.txnNumber === txnNumber ? txn : undefined;

  if (name === "commitTransaction") {
    if (mine?.state === "committed") return { ok: 1 }; // a retried commit
    if (!mine || mine.state !== "active") throw noSuch();
    sessions.commit(mine);
    return { ok: 1 };
  }
  if (name === "abortTransaction") {
    if (mine?.state === "committed") throw new MongoServerError("TransactionCommitted", `Transaction with { txnNumber: ${txnNumber} } has been committed.`);
    if (!mine || mine.state !== "active") throw noSuch();
    sessions.abort(mine);
    return { ok: 1 };
  }
  if (!mine || mine.state !== "active") throw noSuch();
  if (!TRANSACTION_COMMANDS.has(name)) {
    sessions.abort(mine);
    throw new MongoServerError("OperationNotSupportedInTransaction", `Cannot run '${name}' in a multi-document transaction.`);
  }
  // Any failed statement aborts the transaction, as in MongoDB (a duplicate key included).
  try {
    const reply = handler(cmd, { ...ctx, storage: sessions.storageFor(mine) });
    if (reply instanceof Promise) throw badValue(`${name} cannot wait inside a transaction`);
    if (Array.isArray(reply.writeErrors) && reply.writeErrors.length) sessions.abort(mine);
    return reply;
  } catch (err) {
    sessions.abort(mine);
    throw err;
  }
}

export type { CommandContext, ServerInfo } from "./context.js";
