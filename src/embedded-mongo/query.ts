/**
 * Reads over mingo: filter preparation ($comment is dropped, $text is taken out for the text
 * index, operators this server does not implement are refused by name), filter compilation
 * with a fast path for plain equalities, find-style projection and aggregation pipelines.
 * Updates live in update.ts; the operator overrides and options all of them share in
 * operators.ts.
 */
import { Query } from "mingo/query";
import { Aggregator } from "mingo/aggregator";
import type { Options } from "mingo/types";
import { isObjectId } from "./bson-types.js";
import { badValue, failedToParse, notSupported, toServerError } from "./errors.js";
import { mingoOptions } from "./operators.js";
import { type CollationSpec, type Doc, isPlainObject, keyOf, valuesAtPath, collationStrength, foldStrings } from "./values.js";

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
const UNSUPPORTED_QUERY_OPS = new Set([
  "$near",
  "$nearSphere",
  "$geoWithin",
  "$geoIntersects",
  "$within",
  "$box",
  "$center",
  "$centerSphere",
  "$polygon",
  "$where",
]);

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

/** Values a top-level equality can be checked by key: scalars, ObjectIds, dates (not arrays, documents, regexes). */
function simpleEqualityValue(v: unknown): boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || isObjectId(v) || v instanceof Date;
}

/** Compiles a filter; mingo's errors (unknown operators, bad arguments) become BadValue. */
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
  const byEquality = orByEquality(filter, collation);
  if (byEquality) return byEquality;
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

/** Below this many clauses a top-level `$or` goes to mingo whole: grouping would not pay. */
const OR_GROUPING_MIN_CLAUSES = 4;

/**
 * A top-level `$or` whose every clause has a simple equality on one field (`{$or:
 * [{conversation_id: a, seq: …}, {conversation_id: b, rev: …}, …]}`, as `changes(since)` asks
 * for hundreds of conversations): the clauses grouped by that value, and a document tested only
 * against the clauses for the values it holds there — not every clause, which costs documents ×
 * clauses (the planner's orUnion makes every document of every named conversation a candidate).
 * Each clause is still tested whole, so the answer is the one mingo gives. Null when no field
 * is shared by every clause as a simple equality.
 */
function orByEquality(filter: Doc, collation: CollationSpec | null | undefined): ((doc: Doc) => boolean) | null {
  const clauses = filter.$or;
  if (!Array.isArray(clauses) || clauses.length < OR_GROUPING_MIN_CLAUSES || !clauses.every(isPlainObject)) return null;
  const first = clauses[0] as Doc;
  const field = Object.keys(first).find((k) => !k.startsWith("$") && (clauses as Doc[]).every((c) => k in c && simpleEqualityValue(c[k])));
  if (!field) return null;
  const strength = collationStrength(collation);
  const groups = new Map<string, Array<(doc: Doc) => boolean>>();
  for (const clause of clauses as Doc[]) {
    const key = keyOf(clause[field], strength);
    const test = compileFilter(clause, collation);
    const group = groups.get(key);
    if (group) group.push(test);
    else groups.set(key, [test]);
  }
  const { $or: _or, ...rest } = filter;
  const others = compileFilter(rest, collation);
  return (doc: Doc) => {
    if (!others(doc)) return false;
    // An array field holds several values: the clauses of each (each key once).
    const seen = new Set<string>();
    for (const v of valuesAtPath(doc, field, true)) {
      if (v === undefined) continue;
      const key = keyOf(v, strength);
      if (seen.has(key)) continue;
      seen.add(key);
      if (groups.get(key)?.some((test) => test(doc))) return true;
    }
    return false;
  };
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

/** Stages this server does not implement: refused by name, never mis-answered. */
const UNSUPPORTED_STAGES = new Set(["$geoNear", "$search", "$searchMeta", "$vectorSearch", "$listSearchIndexes"]);

/** Runs an aggregation pipeline over documents with the server's context. */
export function runPipeline(docs: Doc[], pipeline: Doc[], options: Partial<Options>): Doc[] {
  for (const stage of pipeline) for (const name of Object.keys(stage)) if (UNSUPPORTED_STAGES.has(name)) throw notSupported(`the ${name} aggregation stage`);
  try {
    return new Aggregator(pipeline, { ...mingoOptions(options.collation), ...options }).run(docs) as Doc[];
  } catch (err) {
    throw toServerError(err);
  }
}
