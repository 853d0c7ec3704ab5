/**
 * Change streams: `aggregate` with a leading $changeStream opens a cursor over the change log;
 * getMore returns the next events in MongoDB's shapes, or waits up to maxTimeMS (default 1 s)
 * for one and then answers an empty batch with a postBatchResumeToken. Resume tokens are
 * positions in the change log; one that has aged out of the bounded log is refused with
 * ChangeStreamHistoryLost (286), as MongoDB does when the oplog rolled over.
 */
import { Long, Timestamp } from "bson";
import { type ChangeEntry, resumeToken, seqOfToken } from "../changes.js";
import { MongoServerError, badValue } from "../errors.js";
import { runPipeline } from "../query.js";
import { type Doc, isPlainObject, sameKey } from "../values.js";
import { type CommandContext, type CommandHandler, optionalDoc, optionalNumber } from "./context.js";

/** The default wait of an awaitData getMore when the driver sends no maxTimeMS (MongoDB: 1 s). */
const DEFAULT_AWAIT_MS = 1000;

export interface ChangeStreamState {
  id: Long;
  ns: string;
  db: string;
  /** null: the whole database (or deployment with `cluster`). */
  coll: string | null;
  cluster: boolean;
  fullDocument: string;
  fullDocumentBeforeChange: string;
  stages: Doc[];
  /** The seq of the last change log entry looked at. */
  position: number;
  invalidated: boolean;
}

/** Streams by cursor id; their ids also live in the cursor table so killCursors and reaping apply. */
const streamsByServer = new WeakMap<object, Map<string, ChangeStreamState>>();

function streamsOf(ctx: CommandContext): Map<string, ChangeStreamState> {
  let m = streamsByServer.get(ctx.changes);
  if (!m) streamsByServer.set(ctx.changes, (m = new Map()));
  return m;
}

export function isChangeStreamCursor(ctx: CommandContext, id: Long): boolean {
  return streamsOf(ctx).has(id.toString());
}

function historyLost(): MongoServerError {
  return new MongoServerError("ChangeStreamHistoryLost", "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
}

export const openChangeStream: CommandHandler = (cmd, ctx) => {
  const pipeline = cmd.pipeline as Doc[];
  const spec = pipeline[0].$changeStream;
  if (!isPlainObject(spec)) throw badValue("$changeStream stage must be an object");
  const cluster = spec.allChangesForCluster === true;
  if (cluster && ctx.db !== "admin") throw badValue("A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database");
  const coll = typeof cmd.aggregate === "string" ? cmd.aggregate : null;
  if (!coll && cmd.aggregate !== 1) throw badValue("aggregate must name a collection or be 1");
  if (!coll && !cluster && ctx.db === "admin") throw badValue("$changeStream may not be opened on the internal admin database");
  for (const st of pipeline.slice(1)) {
    const name = Object.keys(st)[0];
    if (!["$match", "$project", "$addFields", "$set", "$unset", "$replaceRoot", "$replaceWith", "$redact"].includes(name)) {
      throw new MongoServerError("IllegalOperation", `${name} is not permitted in a $changeStream pipeline`);
    }
  }
  const log = ctx.changes;
  let position = log.seq;
  const token = spec.resumeAfter ?? spec.startAfter;
  if (token !== undefined) {
    const seq = seqOfToken(token);
    if (seq === null) throw badValue("Invalid resume token");
    if (seq > log.seq) throw badValue("cannot resume stream; the resume token was not found");
    if (seq + 1 < log.oldestSeq) throw historyLost();
    position = seq;
  } else if (spec.startAtOperationTime instanceof Timestamp) {
    const at = spec.startAtOperationTime;
    position = log.seqAtOrAfter(at);
    if (position + 1 < log.oldestSeq) throw historyLost();
  }
  const cursorOpt = optionalDoc(cmd, "cursor") ?? {};
  const ns = `${ctx.db}.${coll ?? "$cmd.aggregate"}`;
  // Forget streams whose cursor was killed or reaped since.
  for (const [key, st] of streamsOf(ctx)) if (!ctx.cursors.get(st.id)) streamsOf(ctx).delete(key);
  const id = ctx.cursors.open(ns, [], 0).id;
  const stream: ChangeStreamState = {
    id,
    ns,
    db: ctx.db,
    coll,
    cluster,
    fullDocument: typeof spec.fullDocument === "string" ? spec.fullDocument : "default",
    fullDocumentBeforeChange: typeof spec.fullDocumentBeforeChange === "string" ? spec.fullDocumentBeforeChange : "off",
    stages: pipeline.slice(1),
    position,
    invalidated: false,
  };
  streamsOf(ctx).set(id.toString(), stream);
  const batch = collect(ctx, stream, optionalNumber(cursorOpt, "batchSize") ?? 101);
  return reply(ctx, stream, batch, "firstBatch");
};

export async function changeStreamGetMore(ctx: CommandContext, id: Long, cmd: Doc): Promise<Doc> {
  const stream = streamsOf(ctx).get(id.toString());
  if (!stream || !ctx.cursors.get(id)) {
    streamsOf(ctx).delete(id.toString());
    throw new MongoServerError("CursorNotFound", `cursor id ${id.toString()} not found`);
  }
  const batchSize = optionalNumber(cmd, "batchSize") ?? 0;
  const deadline = Date.now() + (optionalNumber(cmd, "maxTimeMS") ?? DEFAULT_AWAIT_MS);
  let batch = collect(ctx, stream, batchSize);
  while (batch.length === 0 && !stream.invalidated && Date.now() < deadline) {
    await ctx.changes.wait(deadline - Date.now());
    if (!streamsOf(ctx).has(id.toString())) break;
    batch = collect(ctx, stream, batchSize);
  }
  return reply(ctx, stream, batch, "nextBatch");
}

function reply(ctx: CommandContext, stream: ChangeStreamState, batch: Doc[], field: "firstBatch" | "nextBatch"): Doc {
  let id = stream.id;
  if (stream.invalidated) {
    ctx.cursors.close(stream.id);
    streamsOf(ctx).delete(stream.id.toString());
    id = Long.ZERO;
  }
  const postBatchResumeToken = batch.length ? batch[batch.length - 1]._id : resumeToken(stream.position);
  return { cursor: { [field]: batch, id, ns: stream.ns, postBatchResumeToken }, operationTime: ctx.changes.clusterTime, ok: 1 };
}

/** The next events after the stream's position, through its pipeline, up to batchSize. */
function collect(ctx: CommandContext, stream: ChangeStreamState, batchSize: number): Doc[] {
  if (stream.position + 1 < ctx.changes.oldestSeq) throw historyLost();
  const out: Doc[] = [];
  for (const entry of ctx.changes.since(stream.position)) {
    if (stream.invalidated || (batchSize > 0 && out.length >= batchSize)) break;
    stream.position = entry.seq;
    for (const event of eventsFor(ctx, stream, entry)) {
      const shaped = stream.stages.length ? runPipeline([event], stream.stages, {})[0] : event;
      if (shaped) out.push(shaped);
    }
  }
  return out;
}

function inScope(stream: ChangeStreamState, entry: ChangeEntry): boolean {
  if (stream.cluster) return !["admin", "config", "local"].includes(entry.db);
  if (entry.db !== stream.db) return false;
  return stream.coll === null || entry.coll === stream.coll;
}

function eventsFor(ctx: CommandContext, stream: ChangeStreamState, entry: ChangeEntry): Doc[] {
  if (!inScope(stream, entry)) return [];
  const base: Doc = { _id: resumeToken(entry.seq), operationType: entry.op, clusterTime: entry.clusterTime, wallTime: entry.wallTime };
  const ns = entry.op === "dropDatabase" ? { db: entry.db } : { db: entry.db, coll: entry.coll };
  if (entry.op === "drop" || entry.op === "rename" || entry.op === "dropDatabase") {
    const event: Doc = { ...base, ns };
    if (entry.op === "rename" && entry.to) event.to = entry.to;
    const events = [event];
    // The watched collection (or database) is gone: the stream ends with an invalidate event.
    const ends = stream.cluster ? false : stream.coll !== null ? entry.op !== "dropDatabase" : entry.op === "dropDatabase";
    if (ends) {
      events.push({
        _id: { _data: "83" + resumeToken(entry.seq)._data.slice(2) },
        operationType: "invalidate",
        clusterTime: entry.clusterTime,
        wallTime: entry.wallTime,
      });
      stream.invalidated = true;
    }
    return events;
  }
  const doc = (entry.after ?? entry.before)!;
  const event: Doc = { ...base, ns, documentKey: { _id: doc._id } };
  if (entry.op === "update") event.updateDescription = describeUpdate(entry.before!, entry.after!);
  if (entry.op === "insert" || entry.op === "replace") event.fullDocument = entry.after;
  else if (entry.op === "update" && stream.fullDocument !== "default") {
    event.fullDocument = ctx.storage.get(entry.db, entry.coll)?.query({ _id: doc._id }).docs[0] ?? null;
  }
  if (stream.fullDocumentBeforeChange !== "off" && entry.op !== "insert") {
    if (entry.preImage) event.fullDocumentBeforeChange = entry.before;
    else if (stream.fullDocumentBeforeChange === "required") {
      throw new MongoServerError(
        "ChangeStreamFatalError",
        `Change stream was configured to require a pre-image for all update, delete and replace events, but no pre-image was available for ${entry.db}.${entry.coll}`,
      );
    } else event.fullDocumentBeforeChange = null;
  }
  if (entry.lsid) {
    event.lsid = entry.lsid;
    event.txnNumber = entry.txnNumber;
  }
  return [event];
}

/** updatedFields (dotted paths into sub-documents), removedFields, truncatedArrays, by comparing images. */
export function describeUpdate(before: Doc, after: Doc): Doc {
  const updatedFields: Doc = {};
  const removedFields: string[] = [];
  const truncatedArrays: Doc[] = [];
  const walk = (a: Doc, b: Doc, prefix: string): void => {
    for (const [k, v] of Object.entries(b)) {
      const path = prefix + k;
      const old = a[k];
      if (sameKey(old, v)) continue;
      if (isPlainObject(old) && isPlainObject(v)) walk(old, v, path + ".");
      else if (Array.isArray(old) && Array.isArray(v) && v.length > old.length && (old as unknown[]).every((e, i) => sameKey(e, v[i]))) {
        for (let i = old.length; i < v.length; i++) updatedFields[`${path}.${i}`] = v[i];
      } else if (Array.isArray(old) && Array.isArray(v) && v.length < old.length && v.every((e, i) => sameKey(e, (old as unknown[])[i]))) {
        truncatedArrays.push({ field: path, newSize: v.length });
      } else updatedFields[path] = v;
    }
    for (const k of Object.keys(a)) if (!(k in b)) removedFields.push(prefix + k);
  };
  walk(before, after, "");
  return { updatedFields, removedFields, truncatedArrays };
}
