/**
 * The command table and dispatch. Generic fields every driver command may carry (session,
 * write concern, read preference, API version, retryable-write txnNumber) are accepted and
 * ignored: a single in-memory node applies each write at once and durably for its lifetime.
 */
import { MongoServerError } from "../errors.js";
import type { Doc } from "../values.js";
import { adminCommands } from "./admin.js";
import { aggregateCommands } from "./aggregate.js";
import { catalogCommands } from "./catalog.js";
import type { CommandContext, CommandHandler } from "./context.js";
import { crudCommands } from "./crud.js";
import { toolAggregate, toolCommands } from "./tools.js";

const COMMANDS: Record<string, CommandHandler> = {
  ...adminCommands,
  ...catalogCommands,
  ...crudCommands,
  ...aggregateCommands,
  ...toolCommands,
};

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? "";
}

export function runCommand(cmd: Doc, ctx: CommandContext): Doc {
  const name = commandName(cmd);
  const handler = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!handler) throw new MongoServerError("CommandNotFound", `no such command: '${name}'`);
  if (cmd.startTransaction === true || cmd.autocommit === false) {
    // Better a clear refusal than a transaction that silently is not one.
    throw new MongoServerError("IllegalOperation", "Transactions are not supported by the embedded server; use a real MongoDB replica set (MONGODB_URI)");
  }
  // $collStats/$currentOp pipelines and explain of aggregate (tools.ts), before the regular handlers.
  const tool = name === "aggregate" || name === "explain" ? toolAggregate(cmd, ctx) : null;
  if (tool) return tool;
  if (cmd.bypassDocumentValidation === true) return ctx.storage.withoutValidation(() => handler(cmd, ctx));
  return handler(cmd, ctx);
}

export type { CommandContext, ServerInfo } from "./context.js";
