/**
 * Commands that tools (mongosh, Compass, monitoring) send rather than applications:
 * renameCollection, collMod, dbStats, collStats, replSetGetStatus/Config, currentOp, killOp,
 * getParameter/setParameter.
 */
import { MongoServerError, badValue } from "../errors.js";
import type { Doc } from "../values.js";
import type { CommandHandler } from "./context.js";

function splitNs(ns: unknown, field: string): { db: string; coll: string } {
  if (typeof ns !== "string" || !ns.includes(".")) throw new MongoServerError("InvalidNamespace", `Invalid namespace specified for '${field}': ${String(ns)}`);
  const i = ns.indexOf(".");
  return { db: ns.slice(0, i), coll: ns.slice(i + 1) };
}

const renameCollection: CommandHandler = (cmd, ctx) => {
  const from = splitNs(cmd.renameCollection, "renameCollection");
  const to = splitNs(cmd.to, "to");
  if (!ctx.storage.get(from.db, from.coll)) throw new MongoServerError("NamespaceNotFound", "Source collection " + `${from.db}.${from.coll}` + " does not exist");
  if (from.db === to.db && from.coll === to.coll) throw new MongoServerError("IllegalOperation", "Can't rename a collection to itself");
  if (ctx.storage.get(to.db, to.coll)) {
    if (cmd.dropTarget !== true) throw new MongoServerError("NamespaceExists", "target namespace exists");
    ctx.storage.drop(to.db, to.coll);
  }
  ctx.storage.rename(from.db, from.coll, to.coll, to.db);
  return { ok: 1 };
};

export const toolCommands: Record<string, CommandHandler> = {
  renameCollection,
};

export type { Doc };
export { badValue };
