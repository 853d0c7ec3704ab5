/**
 * Commands that tools (mongosh, Compass, monitoring) send rather than applications:
 * renameCollection, collMod, dbStats, collStats, replSetGetStatus/Config, currentOp, killOp,
 * getParameter/setParameter.
 */
import { MongoServerError, badValue, notSupported } from "../errors.js";
import type { Index, IndexSpec } from "../indexes.js";
import { compileValidator } from "../validation.js";
import { type Doc, isPlainObject } from "../values.js";
import { type CommandHandler, collectionName } from "./context.js";

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

const COLLMOD_FIELDS = new Set(["collMod", "validator", "validationLevel", "validationAction", "index", "writeConcern", "comment", "$db", "lsid", "$clusterTime", "$readPreference", "txnNumber", "apiVersion", "apiStrict", "apiDeprecationErrors"]);

/** collMod: validator, validationLevel, validationAction, and an index's TTL or hidden flag. */
const collMod: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "collMod");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", `ns does not exist: ${ctx.db}.${name}`);
  for (const k of Object.keys(cmd)) if (!COLLMOD_FIELDS.has(k)) throw notSupported(`collMod option '${k}'`);
  const reply: Doc = {};
  // Everything is checked before anything changes: a bad option changes nothing.
  let index: Index | undefined;
  let spec: IndexSpec | undefined;
  if (cmd.index !== undefined) {
    const req = cmd.index;
    if (!isPlainObject(req)) throw badValue("collMod 'index' must be an object");
    index = isPlainObject(req.keyPattern) ? coll.findIndexByKey(req.keyPattern) : typeof req.name === "string" ? coll.indexList().find((i) => i.name === req.name) : undefined;
    if (!index) throw new MongoServerError("IndexNotFound", `cannot find index ${JSON.stringify(req.keyPattern ?? req.name)} for ns ${ctx.db}.${name}`);
    spec = { ...index.spec };
    if (req.expireAfterSeconds !== undefined) {
      const secs = Number(req.expireAfterSeconds);
      if (!Number.isFinite(secs) || secs < 0) throw badValue("expireAfterSeconds must be a non-negative number");
      if (index.expireAfterSeconds === null) throw new MongoServerError("InvalidOptions", "no expireAfterSeconds field to update");
      reply.expireAfterSeconds_old = index.expireAfterSeconds;
      reply.expireAfterSeconds_new = secs;
      spec.expireAfterSeconds = secs;
    }
    if (req.hidden !== undefined) {
      if (typeof req.hidden !== "boolean") throw badValue("hidden must be a boolean");
      reply.hidden_old = index.spec.hidden === true;
      reply.hidden_new = req.hidden;
      if (req.hidden) spec.hidden = true;
      else delete spec.hidden;
    }
  }
  const options = { ...coll.options };
  for (const k of ["validator", "validationLevel", "validationAction"]) if (cmd[k] !== undefined) options[k] = cmd[k];
  const optionsChanged = ["validator", "validationLevel", "validationAction"].some((k) => cmd[k] !== undefined);
  if (optionsChanged) compileValidator(options, () => coll.ns);
  ctx.storage.atomically(() => {
    if (optionsChanged) coll.setOptions(options);
    if (index && spec) {
      coll.dropIndex(index.name);
      coll.createIndex(spec);
    }
  });
  return { ...reply, ok: 1 };
};

export const toolCommands: Record<string, CommandHandler> = {
  renameCollection,
  collMod,
};
