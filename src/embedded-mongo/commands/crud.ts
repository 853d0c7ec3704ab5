/**
 * Reads and writes: insert, update, delete, find, getMore, killCursors, findAndModify, count,
 * distinct and explain. Write commands report per-statement errors in `writeErrors` and stop
 * at the first one when ordered, as MongoDB does.
 */
import { Long } from "bson";
import { MongoServerError, badValue, failedToParse, toServerError } from "../errors.js";
import { project } from "../query.js";
import { parseUpdate } from "../update.js";
import type { Collection, FindOptions } from "../collection.js";
import type { QueryPlan } from "../planner.js";
import { type Doc, isPlainObject, keyOf, valuesAtPath, collationStrength, compareValues } from "../values.js";
import { changeStreamGetMore, isChangeStreamCursor } from "./changestream.js";
import { type CommandContext, type CommandHandler, collationOf, collectionName, cursorReply, optionalDoc, optionalNumber, takeBatch } from "./context.js";

function documentsOf(cmd: Doc, field: string): Doc[] {
  const v = cmd[field];
  if (!Array.isArray(v)) throw failedToParse(`BSON field '${field}' is missing but a required field`);
  return v as Doc[];
}

/** Runs write statements one by one, collecting writeErrors; ordered writes stop at the first. */
function runStatements<T>(items: T[], ordered: boolean, run: (item: T, index: number) => void): Doc[] {
  const writeErrors: Doc[] = [];
  for (const [i, item] of items.entries()) {
    try {
      run(item, i);
    } catch (err) {
      // A transaction's write conflict fails the whole command (with its retry label).
      if (err instanceof MongoServerError && err.code === 112) throw err;
      writeErrors.push(toServerError(err).toWriteError(i));
      if (ordered) break;
    }
  }
  return writeErrors;
}

function withWriteErrors(reply: Doc, writeErrors: Doc[]): Doc {
  if (writeErrors.length) reply.writeErrors = writeErrors;
  return reply;
}

const insert: CommandHandler = (cmd, ctx) => {
  const coll = ctx.storage.ensure(ctx.db, collectionName(cmd, "insert"));
  const docs = documentsOf(cmd, "documents");
  let n = 0;
  const writeErrors = runStatements(docs, cmd.ordered !== false, (doc) => {
    if (!isPlainObject(doc)) throw badValue("document to insert must be an object");
    coll.insert(doc);
    n++;
  });
  return withWriteErrors({ n, ok: 1 }, writeErrors);
};

const update: CommandHandler = (cmd, ctx) => {
  const coll = ctx.storage.ensure(ctx.db, collectionName(cmd, "update"));
  const statements = documentsOf(cmd, "updates");
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors = runStatements(statements, cmd.ordered !== false, (st, index) => {
    if (!isPlainObject(st.q)) throw failedToParse("BSON field 'update.updates.q' is missing but a required field");
    const spec = parseUpdate(st.u);
    if (st.multi === true && spec.kind === "replacement") throw failedToParse("multi update is not supported for replacement-style update");
    const res = coll.update(st.q, spec, {
      upsert: st.upsert === true,
      multi: st.multi === true,
      arrayFilters: Array.isArray(st.arrayFilters) ? (st.arrayFilters as Doc[]) : undefined,
      collation: collationOf(st),
    });
    n += res.matched;
    nModified += res.modified;
    if (res.upsertedId !== undefined) {
      n += 1;
      upserted.push({ index, _id: res.upsertedId });
    }
  });
  const reply: Doc = { n, nModified, ok: 1 };
  if (upserted.length) reply.upserted = upserted;
  return withWriteErrors(reply, writeErrors);
};

const del: CommandHandler = (cmd, ctx) => {
  const coll = ctx.storage.get(ctx.db, collectionName(cmd, "delete"));
  const statements = documentsOf(cmd, "deletes");
  let n = 0;
  const writeErrors = runStatements(statements, cmd.ordered !== false, (st) => {
    if (!isPlainObject(st.q)) throw failedToParse("BSON field 'delete.deletes.q' is missing but a required field");
    if (st.limit !== 0 && st.limit !== 1) throw failedToParse("The limit field in delete objects must be 0 or 1");
    if (!coll) return;
    n += coll.delete(st.q, { limit: st.limit as number, collation: collationOf(st) }).length;
  });
  return withWriteErrors({ n, ok: 1 }, writeErrors);
};

function findOptions(cmd: Doc): FindOptions & { batchSize?: number; singleBatch: boolean } {
  let limit = optionalNumber(cmd, "limit");
  let singleBatch = cmd.singleBatch === true;
  if (limit !== undefined && limit < 0) {
    limit = -limit;
    singleBatch = true;
  }
  const skip = optionalNumber(cmd, "skip");
  if (skip !== undefined && skip < 0) throw badValue("skip value must be non-negative");
  const batchSize = optionalNumber(cmd, "batchSize");
  if (batchSize !== undefined && batchSize < 0) throw badValue("batchSize value must be non-negative");
  return {
    sort: optionalDoc(cmd, "sort"),
    projection: optionalDoc(cmd, "projection"),
    skip,
    limit,
    collation: collationOf(cmd),
    batchSize,
    singleBatch,
  };
}

const find: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "find");
  const opts = findOptions(cmd);
  const filter = optionalDoc(cmd, "filter") ?? {};
  const coll = ctx.storage.get(ctx.db, name);
  const docs = coll ? coll.query(filter, opts).docs : [];
  // With a limit, the first batch holds up to the limit when no batchSize is given.
  let batchSize = opts.batchSize;
  if (batchSize === undefined && opts.limit) batchSize = Math.min(opts.limit, 101);
  return firstBatchOrEmpty(ctx, `${ctx.db}.${name}`, docs, batchSize, opts.singleBatch);
};

/** batchSize 0 means "open the cursor, return nothing yet". */
function firstBatchOrEmpty(ctx: CommandContext, ns: string, docs: Doc[], batchSize: number | undefined, singleBatch: boolean): Doc {
  if (batchSize === 0 && docs.length > 0 && !singleBatch) {
    const id = ctx.cursors.open(ns, docs, 0).id;
    return { cursor: { firstBatch: [], id, ns }, ok: 1 };
  }
  return cursorReply(ctx, ns, docs, batchSize === 0 ? undefined : batchSize, singleBatch);
}

const getMore: CommandHandler = (cmd, ctx) => {
  const raw = cmd.getMore;
  const id = raw instanceof Long ? raw : typeof raw === "number" || typeof raw === "bigint" ? Long.fromValue(raw as number) : null;
  if (!id) throw new MongoServerError("TypeMismatch", "getMore cursor id must be a long");
  const collection = collectionName(cmd, "collection");
  if (isChangeStreamCursor(ctx, id)) return changeStreamGetMore(ctx, id, cmd);
  const cursor = ctx.cursors.get(id);
  if (!cursor) throw new MongoServerError("CursorNotFound", `cursor id ${id.toString()} not found`);
  const expectedColl = cursor.ns.slice(cursor.ns.indexOf(".") + 1);
  if (cursor.ns !== `${ctx.db}.${collection}` && !expectedColl.endsWith(collection)) {
    throw new MongoServerError(
      "Unauthorized",
      `Requested getMore on namespace '${ctx.db}.${collection}', but cursor belongs to a different namespace ${cursor.ns}`,
    );
  }
  const batchSize = optionalNumber(cmd, "batchSize") ?? 0;
  const { batch, next } = takeBatch(cursor.docs, cursor.position, batchSize);
  cursor.position = next;
  let outId = cursor.id;
  if (next >= cursor.docs.length) {
    ctx.cursors.close(cursor.id);
    outId = Long.ZERO;
  }
  return { cursor: { nextBatch: batch, id: outId, ns: cursor.ns }, ok: 1 };
};

const killCursors: CommandHandler = (cmd, ctx) => {
  collectionName(cmd, "killCursors");
  if (!Array.isArray(cmd.cursors)) throw failedToParse("BSON field 'killCursors.cursors' is missing but a required field");
  const cursorsKilled: unknown[] = [];
  const cursorsNotFound: unknown[] = [];
  for (const id of cmd.cursors) {
    (ctx.cursors.close(id as Long) ? cursorsKilled : cursorsNotFound).push(id);
  }
  return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
};

const findAndModify: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, cmd.findAndModify !== undefined ? "findAndModify" : "findandmodify");
  const query = optionalDoc(cmd, "query") ?? {};
  const sort = optionalDoc(cmd, "sort");
  const fields = optionalDoc(cmd, "fields");
  const collation = collationOf(cmd);
  const remove = cmd.remove === true;
  const hasUpdate = cmd.update !== undefined && cmd.update !== null;
  if (remove && hasUpdate) throw failedToParse("Cannot specify both an update and remove=true");
  if (!remove && !hasUpdate) throw failedToParse("Either an update or remove=true must be specified");
  if (remove && cmd.upsert === true) throw failedToParse("Cannot specify both upsert=true and remove=true");
  if (remove && cmd.new === true) throw failedToParse("Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
  const shape = (doc: Doc | undefined): Doc | null => (doc ? (fields ? project([doc], fields, {})[0] : doc) : null);

  if (remove) {
    const coll = ctx.storage.get(ctx.db, name);
    const removed = coll ? coll.delete(query, { limit: 1, sort, collation }) : [];
    return { lastErrorObject: { n: removed.length }, value: shape(removed[0]), ok: 1 };
  }
  const spec = parseUpdate(cmd.update);
  const coll = ctx.storage.ensure(ctx.db, name);
  const res = coll.update(query, spec, {
    upsert: cmd.upsert === true,
    multi: false,
    sort,
    collation,
    arrayFilters: Array.isArray(cmd.arrayFilters) ? (cmd.arrayFilters as Doc[]) : undefined,
  });
  const lastErrorObject: Doc = { n: res.matched + (res.upsertedId !== undefined ? 1 : 0), updatedExisting: res.matched > 0 };
  if (res.upsertedId !== undefined) lastErrorObject.upserted = res.upsertedId;
  const value = cmd.new === true ? res.after : res.before;
  return { lastErrorObject, value: shape(value), ok: 1 };
};

const count: CommandHandler = (cmd, ctx) => {
  const coll = ctx.storage.get(ctx.db, collectionName(cmd, "count"));
  if (!coll) return { n: 0, ok: 1 };
  const query = optionalDoc(cmd, "query") ?? {};
  const skip = optionalNumber(cmd, "skip") ?? 0;
  const limit = Math.abs(optionalNumber(cmd, "limit") ?? 0);
  if (Object.keys(query).length === 0 && !cmd.collation) {
    const n = Math.max(0, coll.size - skip);
    return { n: limit ? Math.min(limit, n) : n, ok: 1 };
  }
  const { docs } = coll.query(query, { skip, limit, collation: collationOf(cmd) });
  return { n: docs.length, ok: 1 };
};

const distinct: CommandHandler = (cmd, ctx) => {
  const coll = ctx.storage.get(ctx.db, collectionName(cmd, "distinct"));
  if (typeof cmd.key !== "string") throw failedToParse("BSON field 'distinct.key' is missing but a required field");
  if (!coll) return { values: [], ok: 1 };
  const collation = collationOf(cmd);
  const strength = collationStrength(collation);
  const { docs } = coll.query(optionalDoc(cmd, "query") ?? {}, { collation });
  const seen = new Map<string, unknown>();
  for (const doc of docs) {
    for (const v of valuesAtPath(doc, cmd.key, true)) {
      if (v === undefined) continue;
      const k = keyOf(v, strength);
      if (!seen.has(k)) seen.set(k, v);
    }
  }
  return { values: [...seen.values()].sort((a, b) => compareValues(a, b, strength)), ok: 1 };
};

/** explain for find/count/distinct/update/delete: the plan the server would use. */
const explain: CommandHandler = (cmd, ctx) => {
  const inner = optionalDoc(cmd, "explain");
  if (!inner) throw failedToParse("explain requires a command document");
  const verb = Object.keys(inner)[0];
  const name = String(inner[verb]);
  const coll: Collection | undefined = ctx.storage.get(ctx.db, name);
  let filter: Doc;
  if (verb === "find" || verb === "count" || verb === "distinct") filter = optionalDoc(inner, verb === "find" ? "filter" : "query") ?? {};
  else if (verb === "update" && Array.isArray(inner.updates)) filter = ((inner.updates[0] as Doc)?.q as Doc) ?? {};
  else if (verb === "delete" && Array.isArray(inner.deletes)) filter = ((inner.deletes[0] as Doc)?.q as Doc) ?? {};
  else if (verb === "findAndModify") filter = optionalDoc(inner, "query") ?? {};
  else throw new MongoServerError("CommandNotFound", `explain is not supported for ${verb}`);
  const empty: { docs: Doc[]; plan: QueryPlan } = { docs: [], plan: { stage: "EOF", keysExamined: 0, docsExamined: 0 } };
  const result = coll ? coll.query(filter, { collation: collationOf(inner) }) : empty;
  const { plan } = result;
  const winningPlan: Doc =
    plan.stage === "COLLSCAN" || plan.stage === "EOF"
      ? { stage: plan.stage, filter }
      : { stage: "FETCH", inputStage: { stage: plan.stage, indexName: plan.indexName } };
  return {
    queryPlanner: { namespace: `${ctx.db}.${name}`, parsedQuery: filter, winningPlan, rejectedPlans: [] },
    executionStats: { nReturned: result.docs.length, totalKeysExamined: plan.keysExamined, totalDocsExamined: plan.docsExamined },
    ok: 1,
  };
};

export const crudCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: del,
  find,
  getMore,
  killCursors,
  findAndModify,
  findandmodify: findAndModify,
  count,
  distinct,
  explain,
};
