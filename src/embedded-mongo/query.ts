/**
 * The bridge to mingo: one operator context with MongoDB's BSON-aware behaviour where mingo's
 * differs ($type by BSON name/number, ObjectId conversions), filter preparation ($comment is
 * dropped, $text is taken out for the text index), and the update and projection helpers.
 *
 * mingo's Context.from keeps the first definition of an operator, so the overrides are
 * spread into a full context here rather than merged onto mingo's default one.
 */
import { Context, ProcessingMode } from "mingo";
import { Query } from "mingo/query";
import { Aggregator } from "mingo/aggregator";
import { evalExpr } from "mingo/core";
import { updateOne as mingoUpdateOne } from "mingo/updater";
import * as accumulatorOps from "mingo/operators/accumulator";
import * as expressionOps from "mingo/operators/expression";
import * as pipelineOps from "mingo/operators/pipeline";
import * as projectionOps from "mingo/operators/projection";
import * as queryOps from "mingo/operators/query";
import * as windowOps from "mingo/operators/window";
import { Binary, Decimal128, Long, ObjectId, Timestamp, BSONRegExp, MinKey, MaxKey, Code } from "bson";
import type { Options } from "mingo/types";
import { MongoServerError, badValue, failedToParse, notSupported, toServerError } from "./errors.js";
import { compileSchema } from "./jsonschema.js";
import { type CollationSpec, type Doc, compareValues, isObjectId, isPlainObject, keyOf, typeRank, valuesAtPath, collationStrength, foldStrings } from "./values.js";

/** BSON type names and numbers as `$type` accepts them. */
const TYPE_ALIASES: Record<string, number> = {
  double: 1, string: 2, object: 3, array: 4, binData: 5, undefined: 6, objectId: 7, bool: 8,
  date: 9, null: 10, regex: 11, javascript: 13, int: 16, timestamp: 17, long: 18, decimal: 19,
  minKey: -1, maxKey: 127,
};

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE_ALIASES).map(([k, v]) => [v, k]));

/** The BSON type name (`$type` alias) of a stored value: "int", "objectId", "date"... */
export function bsonTypeName(v: unknown): string {
  return TYPE_NAMES[bsonTypeOf(v)] ?? "object";
}

/** The BSON type number a stored value serializes as. */
function bsonTypeOf(v: unknown): number {
  if (v === undefined) return 6;
  if (v === null) return 10;
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v >= -2147483648 && v <= 2147483647 ? 16 : 1;
    return 1;
  }
  if (typeof v === "bigint" || v instanceof Long) return 18;
  if (v instanceof Decimal128) return 19;
  if (typeof v === "string") return 2;
  if (typeof v === "boolean") return 8;
  if (Array.isArray(v)) return 4;
  if (isObjectId(v)) return 7;
  if (v instanceof Date) return 9;
  if (v instanceof Binary || v instanceof Uint8Array) return 5;
  if (v instanceof RegExp || v instanceof BSONRegExp) return 11;
  if (v instanceof Timestamp) return 17;
  if (v instanceof Code) return 13;
  if (v instanceof MinKey) return -1;
  if (v instanceof MaxKey) return 127;
  return 3;
}

function typeMatches(value: unknown, wanted: unknown): boolean {
  if (wanted === "number") return [1, 16, 18, 19].includes(bsonTypeOf(value));
  const num = typeof wanted === "string" ? TYPE_ALIASES[wanted] : Number(wanted);
  if (num === undefined || Number.isNaN(num)) throw badValue(`Unknown type name alias: ${String(wanted)}`);
  const actual = bsonTypeOf(value);
  if (actual === num) return true;
  // Int64 values are promoted to JS numbers on the way in, so a whole number beyond the int32
  // range answers to both long and double (it is written back as a double).
  if (actual === 1 && typeof value === "number" && Number.isInteger(value)) return num === 18;
  return false;
}

/** `$type` with MongoDB's names and numbers: an array field matches "array" or by its elements. */
function $type(selector: string, value: unknown): (doc: Doc) => boolean {
  const wanted = Array.isArray(value) ? value : [value];
  return (doc: Doc) => {
    const raw = valuesAtPath(doc, selector, false);
    return raw.some((v) => {
      if (v === undefined && !selector.includes(".")) {
        return false;
      }
      if (Array.isArray(v)) {
        if (wanted.some((w) => typeMatches(v, w))) return true;
        return v.some((e) => wanted.some((w) => typeMatches(e, w)));
      }
      if (v === undefined) return false;
      return wanted.some((w) => typeMatches(v, w));
    });
  };
}

/**
 * $gt/$gte/$lt/$lte with MongoDB's type bracketing over BSON values: numbers of every kind
 * (int, long, double, Decimal128) compare with each other, other types only within their own
 * type; an array field matches when one element does (or the array itself, for array values).
 */
function comparison(test: (c: number) => boolean) {
  return (selector: string, value: unknown): ((doc: Doc) => boolean) => {
    const rank = typeRank(value);
    return (doc: Doc) =>
      valuesAtPath(doc, selector, false).some((v) => {
        const candidates = Array.isArray(v) ? [...v, v] : [v];
        return candidates.some((c) => typeRank(c) === rank && test(compareValues(c, value)));
      });
  };
}

const $gt = comparison((c) => c > 0);
const $gte = comparison((c) => c >= 0);
const $lt = comparison((c) => c < 0);
const $lte = comparison((c) => c <= 0);

type ExprOptions = Parameters<typeof evalExpr>[2];

function $toObjectId(obj: unknown, expr: unknown, options: ExprOptions): unknown {
  const v = evalExpr(obj, expr, options);
  if (v === null || v === undefined) return null;
  if (isObjectId(v)) return v;
  if (typeof v === "string" && ObjectId.isValid(v) && v.length === 24) return new ObjectId(v);
  throw new MongoServerError("ConversionFailure", `Failed to parse objectId '${String(v)}' in $convert`);
}

function $toString(obj: unknown, expr: unknown, options: ExprOptions): unknown {
  const v = evalExpr(obj, expr, options);
  if (v === null || v === undefined) return null;
  if (isObjectId(v)) return v.toHexString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Long || v instanceof Decimal128) return v.toString();
  if (typeof v === "object" && !(v instanceof RegExp)) throw badValue("$toString cannot convert from object to string");
  return String(v);
}

function $meta(): unknown {
  // The text score is attached by the find path before mingo sees the projection.
  throw badValue("$meta is only supported as { $meta: \"textScore\" } with a $text query");
}

/** The one operator context the server uses for queries, updates and aggregations. */
export const mingoContext: Context = Context.init({
  accumulator: { ...accumulatorOps } as never,
  expression: { ...expressionOps, $toObjectId, $toString, $meta } as never,
  pipeline: { ...pipelineOps } as never,
  projection: { ...projectionOps } as never,
  query: { ...queryOps, $type, $gt, $gte, $lt, $lte } as never,
  window: { ...windowOps } as never,
});

export function mingoOptions(collation?: CollationSpec | null, extra: Partial<Options> = {}): Partial<Options> {
  const opts: Partial<Options> = {
    context: mingoContext,
    processingMode: ProcessingMode.CLONE_OFF,
    useStrictMode: true,
    scriptEnabled: false,
    // $jsonSchema in queries and validators, with BSON types (bsonType) as MongoDB has them.
    jsonSchemaValidator: (schema) => {
      const check = compileSchema(schema);
      return (doc) => check(doc).length === 0;
    },
    ...extra,
  };
  if (collation && collationStrength(collation) < 3) {
    return { ...opts, collation: { locale: collation.locale ?? "en", strength: collation.strength as 1 | 2 | 3 } };
  }
  return opts;
}

export interface TextSearch {
  search: string;
  caseSensitive: boolean;
  diacriticSensitive: boolean;
}

/** A filter split into what mingo evaluates and the parts the server serves itself. */
export interface PreparedFilter {
  filter: Doc;
  text: TextSearch | null;
}

/**
 * Drops `$comment` (top level and inside $and/$or/$nor) and takes a top-level `$text` (or one
 * inside a top-level $and) out for the text index, as MongoDB allows $text only there.
 */
export function prepareFilter(input: unknown): PreparedFilter {
  if (input === undefined || input === null) return { filter: {}, text: null };
  if (!isPlainObject(input)) throw badValue("filter must be an object");
  let text: TextSearch | null = null;
  const strip = (f: Doc, top: boolean): Doc => {
    const out: Doc = {};
    for (const [k, v] of Object.entries(f)) {
      if (k === "$comment") continue;
      if (k === "$text") {
        if (!top) throw badValue("$text is only allowed at the top level of a query");
        if (text) throw badValue("Too many text expressions");
        if (!isPlainObject(v) || typeof v.$search !== "string") throw failedToParse("$text requires a $search string");
        text = {
          search: v.$search,
          caseSensitive: v.$caseSensitive === true,
          diacriticSensitive: v.$diacriticSensitive === true,
        };
        continue;
      }
      if ((k === "$and" || k === "$or" || k === "$nor") && Array.isArray(v)) {
        const parts = v.map((e) => (isPlainObject(e) ? strip(e, top && k === "$and") : e));
        out[k] = parts;
        continue;
      }
      out[k] = v;
    }
    return out;
  };
  refuseUnsupported(input);
  const filter = strip(input, true);
  if (Array.isArray(filter.$and)) {
    filter.$and = (filter.$and as Doc[]).filter((e) => Object.keys(e).length > 0);
    if ((filter.$and as Doc[]).length === 0) delete filter.$and;
  }
  return { filter, text };
}

/** Query operators this server does not implement: refused by name, never mis-answered. */
const UNSUPPORTED_QUERY_OPS = new Set(["$near", "$nearSphere", "$geoWithin", "$geoIntersects", "$within", "$box", "$center", "$centerSphere", "$polygon", "$where"]);

function refuseUnsupported(v: unknown): void {
  if (Array.isArray(v)) {
    for (const e of v) refuseUnsupported(e);
    return;
  }
  if (!isPlainObject(v)) return;
  for (const [k, sub] of Object.entries(v)) {
    if (UNSUPPORTED_QUERY_OPS.has(k)) throw notSupported(`the ${k} query operator`);
    refuseUnsupported(sub);
  }
}

/** Compiles a filter; mingo's errors (unknown operators, bad arguments) become BadValue. */
/** Values a top-level equality can be checked by key: scalars, ObjectIds, dates (not arrays, documents, regexes). */
function simpleEqualityValue(v: unknown): boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || isObjectId(v) || v instanceof Date;
}

export function compileFilter(filter: Doc, collation?: CollationSpec | null): (doc: Doc) => boolean {
  if (Object.keys(filter).length === 0) return () => true;
  const strength = collationStrength(collation);
  // `field: value` with a simple value is checked here by canonical keys (an array field
  // matches when an element equals it); mingo's per-element hashing makes such tests slow on
  // large arrays. Everything else goes to mingo.
  const simple = Object.entries(filter).filter(([k, v]) => !k.startsWith("$") && simpleEqualityValue(v));
  if (simple.length > 0) {
    const rest = Object.fromEntries(Object.entries(filter).filter(([k, v]) => k.startsWith("$") || !simpleEqualityValue(v)));
    const wanted = simple.map(([path, v]) => ({ path, key: keyOf(v, strength) }));
    const others = compileFilter(rest, collation);
    return (doc: Doc) =>
      wanted.every(({ path, key }) => valuesAtPath(doc, path, true).some((x) => x !== undefined && keyOf(x, strength) === key)) && others(doc);
  }
  try {
    if (strength < 3) {
      const q = new Query(foldStrings(filter, strength), mingoOptions(collation));
      return (doc: Doc) => q.test(foldStrings(doc, strength));
    }
    const q = new Query(filter, mingoOptions(collation));
    return (doc: Doc) => q.test(doc);
  } catch (err) {
    throw toServerError(err);
  }
}

/** Applies a find-style projection (mingo implements inclusion, exclusion, $slice, $elemMatch, $). */
export function project(docs: Doc[], projection: Doc | undefined, filter: Doc, collation?: CollationSpec | null): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  // The documents already match: the filter only matters for the positional `$` projection.
  const positional = Object.keys(projection).some((k) => k.endsWith(".$"));
  try {
    return new Query(positional ? filter : {}, mingoOptions(collation)).find(docs, projection).all() as Doc[];
  } catch (err) {
    throw toServerError(err);
  }
}

/** Runs an aggregation pipeline over documents with the server's context. */
const UNSUPPORTED_STAGES = new Set(["$geoNear", "$search", "$searchMeta", "$vectorSearch", "$listSearchIndexes"]);

export function runPipeline(docs: Doc[], pipeline: Doc[], options: Partial<Options>): Doc[] {
  for (const stage of pipeline) for (const name of Object.keys(stage)) if (UNSUPPORTED_STAGES.has(name)) throw notSupported(`the ${name} aggregation stage`);
  try {
    return new Aggregator(pipeline, { ...mingoOptions(options.collation), ...options }).run(docs) as Doc[];
  } catch (err) {
    throw toServerError(err);
  }
}

const UPDATE_OPERATORS = new Set([
  "$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$currentDate", "$push", "$pop",
  "$pull", "$pullAll", "$addToSet", "$bit", "$setOnInsert",
]);

const FAST_OPS = new Set(["$set", "$inc", "$max", "$min"]);

/**
 * A fast path for the commonest array-filter update, `{ $max: { "arr.$[m].f": v } }` with
 * `arrayFilters: [{ "m.key": value }]` (scalar or ObjectId equality): mingo evaluates a query
 * per element with hashing (≈3 ms for 1,024 elements); this compares keys directly. Returns
 * null when the update has any other shape, for mingo to apply.
 */
function applySimpleArrayFilterUpdate(target: Doc, pairs: Array<{ op: string; path: string; value: unknown }>, arrayFilters: Doc[]): boolean | null {
  if (pairs.length === 0 || arrayFilters.length === 0) return null;
  const filters = new Map<string, { field: string; key: string }>();
  for (const f of arrayFilters) {
    const entries = Object.entries(f);
    if (entries.length !== 1) return null;
    const [path, value] = entries[0];
    const m = /^([a-z][A-Za-z0-9]*)\.([A-Za-z0-9_]+)$/.exec(path);
    if (!m || (value !== null && typeof value === "object" && !isObjectId(value))) return null;
    filters.set(m[1], { field: m[2], key: keyOf(value) });
  }
  const plan: Array<{ op: string; array: string; id: string; field: string; value: unknown }> = [];
  for (const { op, path, value } of pairs) {
    const m = /^([A-Za-z0-9_]+)\.\$\[([a-z][A-Za-z0-9]*)\]\.([A-Za-z0-9_]+)$/.exec(path);
    if (!FAST_OPS.has(op) || !m || !filters.has(m[2])) return null;
    if (op !== "$set" && typeof value !== "number") return null;
    plan.push({ op, array: m[1], id: m[2], field: m[3], value });
  }
  let changed = false;
  for (const { op, array, id, field, value } of plan) {
    const arr = target[array];
    if (!Array.isArray(arr)) continue;
    const filter = filters.get(id)!;
    for (const el of arr) {
      if (!isPlainObject(el) || keyOf(el[filter.field]) !== filter.key) continue;
      const cur = el[field];
      let next: unknown = cur;
      if (op === "$set") next = value;
      else if (op === "$inc") next = (typeof cur === "number" ? cur : 0) + (value as number);
      else if (op === "$max") next = cur === undefined || compareValues(value, cur) > 0 ? value : cur;
      else if (op === "$min") next = cur === undefined || compareValues(value, cur) < 0 ? value : cur;
      if (keyOf(next) !== keyOf(cur) || cur === undefined) {
        el[field] = next;
        changed = true;
      }
    }
  }
  return changed;
}

/** Two update paths touch the same field (or one contains the other); positional parts match anything. */
function pathsOverlap(a: string, b: string): boolean {
  const norm = (p: string) => p.split(".").map((s) => (s.startsWith("$") ? "*" : s));
  const x = norm(a);
  const y = norm(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i] && x[i] !== "*" && y[i] !== "*") return false;
  return true;
}

export type UpdateSpec =
  | { kind: "replacement"; doc: Doc }
  | { kind: "operators"; ops: Doc }
  | { kind: "pipeline"; stages: Doc[] };

/** Classifies an update document and checks its operators, as the server does before any write. */
export function parseUpdate(u: unknown): UpdateSpec {
  if (Array.isArray(u)) {
    for (const s of u) {
      if (!isPlainObject(s) || Object.keys(s).length !== 1) throw failedToParse("Each pipeline update stage must be an object with one field");
      const op = Object.keys(s)[0];
      if (!["$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"].includes(op)) {
        throw new MongoServerError("InvalidOptions", `${op} is not allowed to be used within an update`);
      }
    }
    return { kind: "pipeline", stages: u as Doc[] };
  }
  if (!isPlainObject(u)) throw failedToParse("Update argument must be either an object or an array");
  const keys = Object.keys(u);
  const dollar = keys.filter((k) => k.startsWith("$"));
  if (dollar.length === 0) return { kind: "replacement", doc: u };
  if (dollar.length !== keys.length) {
    throw failedToParse(`Unknown modifier: ${keys.find((k) => !k.startsWith("$"))}. Expected a valid update modifier or pipeline-style update specified as an array`);
  }
  for (const k of keys) {
    if (!UPDATE_OPERATORS.has(k)) throw failedToParse(`Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`);
    if (!isPlainObject(u[k])) throw failedToParse(`Modifiers operate on fields but we found type ${typeof u[k]} instead. For example: {$mod: {<field>: ...}} not {${k}: ${JSON.stringify(u[k])}}`);
  }
  return { kind: "operators", ops: u };
}

export interface ApplyOptions {
  /** The query that selected the document (for the positional `$`). */
  condition: Doc;
  arrayFilters?: Doc[];
  collation?: CollationSpec | null;
  /** True when the update inserts (upsert): `$setOnInsert` applies. */
  inserting: boolean;
}

/**
 * Applies an update to a copy the caller owns, in place, and reports whether it changed.
 * `$setOnInsert` is handled here because mingo does not know it.
 */
export function applyUpdate(target: Doc, spec: UpdateSpec, opts: ApplyOptions): boolean {
  if (spec.kind === "replacement") throw new Error("replacements are applied by the collection");
  const docs = [target];
  try {
    if (spec.kind === "pipeline") {
      const res = mingoUpdateOne(docs, {}, spec.stages as never, {}, mingoOptions(opts.collation));
      if (docs[0] !== target) {
        for (const k of Object.keys(target)) delete target[k];
        Object.assign(target, docs[0]);
      }
      return res.modifiedCount > 0;
    }
    const ops: Doc = { ...spec.ops };
    const onInsert = ops.$setOnInsert as Doc | undefined;
    delete ops.$setOnInsert;
    if (opts.inserting && onInsert) ops.$set = { ...(ops.$set as Doc | undefined), ...onInsert };
    if (Object.keys(ops).length === 0) return false;
    // The condition only serves the positional `$` operator; the caller already matched the
    // document (under its collation, which mingo's matcher would not apply).
    const positional = Object.values(ops).some((fields) => Object.keys(fields as Doc).some((p) => /(^|\.)\$(\.|$)/.test(p)));
    const run = (modifier: Doc): boolean =>
      mingoUpdateOne(docs, positional ? opts.condition : {}, modifier as never, { arrayFilters: opts.arrayFilters ?? [], cloneMode: "deep" }, mingoOptions(opts.collation)).modifiedCount > 0;
    const pairs = Object.entries(ops).flatMap(([op, fields]) => Object.entries(fields as Doc).map(([path, value]) => ({ op, path, value })));
    const fast = applySimpleArrayFilterUpdate(target, pairs, opts.arrayFilters ?? []);
    if (fast !== null) return fast;
    if (pairs.some((a, i) => pairs.some((b, j) => i < j && pathsOverlap(a.path, b.path)))) {
      const first = pairs.find((a, i) => pairs.some((b, j) => i < j && pathsOverlap(a.path, b.path)))!;
      throw new MongoServerError("Location40", `Updating the path '${first.path}' would create a conflict at '${first.path.split(".")[0]}'`);
    }
    // mingo reports a false conflict for two fields under one array filter
    // ("members.$[m].a" and "members.$[m].b"), so such updates are applied one path at a time.
    const arrayRoots = pairs.filter((p) => p.path.includes(".$[")).map((p) => p.path.split(".$[")[0]);
    if (new Set(arrayRoots).size === arrayRoots.length) return run(ops);
    let changed = false;
    for (const { op, path, value } of pairs) if (run({ [op]: { [path]: value } })) changed = true;
    return changed;
  } catch (err) {
    const e = toServerError(err);
    if (/immutable field '_id'/.test(e.message)) throw new MongoServerError("ImmutableField", e.message);
    if (/path .* (conflict|collision)|would create a conflict/i.test(e.message)) {
      throw new MongoServerError("Location40324", e.message);
    }
    throw e;
  }
}

/**
 * The document an upsert starts from: the equality parts of the query (field: value, $eq, and
 * those inside a top-level $and), as MongoDB seeds an upserted document.
 */
export function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  const take = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === "$and" && Array.isArray(v)) {
        for (const e of v) if (isPlainObject(e)) take(e);
        continue;
      }
      if (k.startsWith("$")) continue;
      let value: unknown = v;
      if (isPlainObject(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === "$eq") value = v.$eq;
        else if (keys.some((x) => x.startsWith("$"))) continue;
      }
      if (value instanceof RegExp) continue;
      setDotted(seed, k, value);
    }
  };
  take(filter);
  return seed;
}

function setDotted(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur: Doc = doc;
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Doc;
  }
  cur[parts[parts.length - 1]] = value;
}
