/**
 * The command table and dispatch. Generic fields every driver command may carry (write
 * concern, read preference, API version, retryable-write txnNumber) are accepted and ignored:
 * a single in-memory node applies each write at once. Session fields with `autocommit: false`
 * route the command into its multi-document transaction (see transactions.ts).
 */
import { Long } from "bson";
import { MongoServerError, badValue, transientError } from "../errors.js";
import type { Doc } from "../values.js";
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

/** What MongoDB lets a multi-document transaction run. */
const TRANSACTION_COMMANDS = new Set([
  "find", "getMore", "killCursors", "insert", "update", "delete", "findAndModify", "findandmodify", "aggregate", "distinct",
  "commitTransaction", "abortTransaction",
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
  if (cmd.bypassDocumentValidation === true) return ctx.storage.withoutValidation(() => handler(cmd, ctx));
  return handler(cmd, ctx);
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
  const noSuch = (): MongoServerError =>
    transientError("NoSuchTransaction", `Transaction with { txnNumber: ${txnNumber} } has been aborted.`);
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
