/**
 * aggregate: a leading $match (with $sort/$skip/$limit right after it) is served by the
 * collection's query path so it uses indexes and $text; mingo runs every other stage, with
 * $lookup/$graphLookup/$unionWith reading other collections of the same database. A final
 * $out or $merge is executed here so the target keeps its indexes and unique checks.
 */
import { MongoServerError, badValue, failedToParse } from "../errors.js";
import { runPipeline } from "../query.js";
import { ProcessingMode } from "mingo";
import { type Doc, cloneDoc, isPlainObject, keyOf, getPath, collationStrength } from "../values.js";
import { type CommandContext, type CommandHandler, collationOf, cursorReply, optionalDoc, optionalNumber } from "./context.js";
import type { FindOptions } from "../collection.js";
import { openChangeStream } from "./changestream.js";

function stageName(stage: unknown): string {
  if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
    throw new MongoServerError("Location40323", "A pipeline stage specification object must contain exactly one field.");
  }
  return Object.keys(stage)[0];
}

/** Splits off the stages the query path can serve: $match, then $sort, $skip, $limit. */
function leadingQuery(pipeline: Doc[]): { filter: Doc; opts: FindOptions; rest: Doc[] } {
  let i = 0;
  const filter: Doc = {};
  const opts: FindOptions = {};
  if (pipeline[0] && stageName(pipeline[0]) === "$match") {
    Object.assign(filter, pipeline[0].$match as Doc);
    i = 1;
    if (pipeline[i] && stageName(pipeline[i]) === "$sort") {
      opts.sort = pipeline[i].$sort as Doc;
      i++;
    }
    if (opts.sort && pipeline[i] && stageName(pipeline[i]) === "$limit") {
      opts.limit = Number(pipeline[i].$limit);
      i++;
    }
  }
  return { filter, opts, rest: pipeline.slice(i) };
}

function targetOf(spec: unknown, db: string, stage: string): { db: string; coll: string } {
  if (typeof spec === "string") return { db, coll: spec };
  if (isPlainObject(spec)) {
    const coll = spec.coll ?? spec.into;
    if (typeof coll === "string") return { db: typeof spec.db === "string" ? spec.db : db, coll };
    if (isPlainObject(coll) && typeof coll.coll === "string") return { db: typeof coll.db === "string" ? coll.db : db, coll: coll.coll };
  }
  throw failedToParse(`${stage} requires a target collection`);
}

function runOut(ctx: CommandContext, spec: unknown, results: Doc[]): void {
  const target = targetOf(spec, ctx.db, "$out");
  const coll = ctx.storage.ensure(target.db, target.coll);
  // Insert into a fresh copy first so a duplicate key leaves the old contents in place.
  const seen = new Set<string>();
  for (const d of results) {
    const k = keyOf(d._id);
    if (d._id !== undefined && seen.has(k)) throw new MongoServerError("DuplicateKey", `E11000 duplicate key error collection: ${coll.ns} index: _id_`);
    seen.add(k);
  }
  coll.clear();
  for (const d of results) coll.insert(cloneDoc(d));
}

function runMerge(ctx: CommandContext, spec: unknown, results: Doc[]): void {
  const target = targetOf(spec, ctx.db, "$merge");
  const opts = isPlainObject(spec) ? spec : {};
  const on = opts.on === undefined ? ["_id"] : Array.isArray(opts.on) ? (opts.on as string[]) : [String(opts.on)];
  const whenMatched = opts.whenMatched ?? "merge";
  const whenNotMatched = opts.whenNotMatched ?? "insert";
  const coll = ctx.storage.ensure(target.db, target.coll);
  for (const doc of results) {
    const filter = Object.fromEntries(on.map((f) => [f, getPath(doc, f) ?? null]));
    const existing = coll.query(filter, { limit: 1 }).docs[0];
    if (!existing) {
      if (whenNotMatched === "discard") continue;
      if (whenNotMatched === "fail") throw new MongoServerError("Location13113", "$merge could not find a matching document in the target collection");
      coll.insert(cloneDoc(doc));
      continue;
    }
    if (whenMatched === "keepExisting") continue;
    if (whenMatched === "fail") throw new MongoServerError("DuplicateKey", `E11000 duplicate key error collection: ${coll.ns}`);
    if (whenMatched === "replace") {
      coll.update({ _id: existing._id }, { kind: "replacement", doc: { ...cloneDoc(doc), _id: existing._id } }, {});
    } else if (whenMatched === "merge") {
      const { _id, ...fields } = cloneDoc(doc);
      if (Object.keys(fields).length) coll.update({ _id: existing._id }, { kind: "operators", ops: { $set: fields } }, {});
    } else if (Array.isArray(whenMatched)) {
      coll.update({ _id: existing._id }, { kind: "pipeline", stages: whenMatched as Doc[] }, {});
    } else {
      throw badValue(`unsupported whenMatched mode ${String(whenMatched)}`);
    }
  }
}

const aggregate: CommandHandler = (cmd, ctx) => {
  const pipeline = cmd.pipeline;
  if (!Array.isArray(pipeline)) throw failedToParse("'pipeline' option must be specified as an array");
  const names = pipeline.map(stageName);
  if (names[0] === "$changeStream") return openChangeStream(cmd, ctx);
  const cursorOpt = optionalDoc(cmd, "cursor");
  if (!cursorOpt && cmd.explain !== true) throw failedToParse("The 'cursor' option is required, except for aggregate with the explain argument");
  const collation = collationOf(cmd);
  const last = names[names.length - 1];
  const writes = last === "$out" || last === "$merge";
  if (names.slice(0, -1).some((n) => n === "$out" || n === "$merge")) throw badValue(`${last} can only be the final stage in the pipeline`);
  const body = (writes ? pipeline.slice(0, -1) : pipeline) as Doc[];

  const collName = typeof cmd.aggregate === "string" ? cmd.aggregate : null;
  if (!collName && cmd.aggregate !== 1) throw failedToParse("aggregate must name a collection or be 1");
  const coll = collName ? ctx.storage.get(ctx.db, collName) : undefined;
  const { filter, opts, rest } = leadingQuery(body);
  let input = coll ? coll.query(filter, { ...opts, collation }).docs : [];
  if (collName === null) input = [];

  const resolver = (name: string): Doc[] => (ctx.storage.get(ctx.db, name)?.all() ?? []).map((d) => cloneDoc(d));
  const variables = optionalDoc(cmd, "let");
  let results = rest.length
    ? runPipeline(input, rest, {
        collectionResolver: resolver,
        processingMode: ProcessingMode.CLONE_INPUT,
        ...(variables ? { variables } : {}),
        ...(collation && collationStrength(collation) < 3
          ? { collation: { locale: collation.locale ?? "en", strength: collation.strength as 1 | 2 | 3 } }
          : {}),
      })
    : input;

  if (cmd.explain === true) {
    return { stages: names.map((n) => ({ [n]: {} })), ok: 1 };
  }
  if (writes) {
    const spec = pipeline[pipeline.length - 1][last];
    if (last === "$out") runOut(ctx, spec, results);
    else runMerge(ctx, spec, results);
    results = [];
  }
  const ns = `${ctx.db}.${collName ?? "$cmd.aggregate"}`;
  return cursorReply(ctx, ns, results, cursorOpt ? optionalNumber(cursorOpt, "batchSize") : undefined);
};

export const aggregateCommands: Record<string, CommandHandler> = { aggregate };
