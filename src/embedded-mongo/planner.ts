/**
 * The query planner: decides how a filter is served — by the text index, by `_id`, by a
 * secondary index (equality or `$in` on its leading field, else an anchored regex prefix or a
 * range read from the index's keys), or by a scan. It reads indexes, never documents: the
 * collection turns the chosen access path into candidates and still tests each one against
 * the whole filter, so a plan only ever narrows what is tested, never decides a match.
 */
import { MongoServerError } from "./errors.js";
import { isObjectId } from "./bson-types.js";
import type { Index } from "./indexes.js";
import type { TextSearch } from "./query.js";
import { type CollationSpec, type Doc, collationStrength, isPlainObject } from "./values.js";

/** How a filter was served: by which index, or by scanning (explain and the plan checks report it). */
export interface QueryPlan {
  stage: "IXSCAN" | "IDHACK" | "COLLSCAN" | "TEXT" | "EOF";
  indexName?: string;
  keysExamined: number;
  docsExamined: number;
}

/** What the planner chose; the collection fetches the documents it names. */
export type AccessPath =
  | { stage: "TEXT"; index: Index; search: TextSearch }
  | { stage: "IDHACK"; ids: unknown[] }
  | { stage: "IXSCAN"; index: Index; keys: Set<string> }
  | { stage: "COLLSCAN" };

/** Values an index can look up by hash: scalars whose equality does not depend on arrays. */
function indexable(v: unknown): boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || isObjectId(v) || v instanceof Date;
}

/** The equality values a filter gives for a field (`x: v`, `x: {$eq: v}`, `x: {$in: [...]}`), or null. */
export function equalityValues(filter: Doc, field: string): unknown[] | null {
  if (!(field in filter)) return null;
  const cond = filter[field];
  if (indexable(cond)) return [cond];
  if (isPlainObject(cond)) {
    if ("$eq" in cond && indexable(cond.$eq)) return [cond.$eq];
    if (Array.isArray(cond.$in) && cond.$in.length > 0 && cond.$in.every(indexable)) return cond.$in;
  }
  return null;
}

/**
 * The `_id` values of an `_id` equality the `_id` map can answer, or null. Stored `_id` keys
 * compare strings exactly, so a string id under a case-insensitive collation needs a scan.
 */
export function idLookup(filter: Doc, collation: CollationSpec | null | undefined): unknown[] | null {
  const ids = equalityValues(filter, "_id");
  if (ids && (collationStrength(collation) === 3 || ids.every((v) => typeof v !== "string"))) return ids;
  return null;
}

/** A literal prefix of an anchored, case-sensitive regex (`/^abc/`), or null. */
function regexPrefix(cond: unknown): string | null {
  let re: RegExp | null = null;
  if (cond instanceof RegExp) re = cond;
  else if (isPlainObject(cond) && cond.$regex instanceof RegExp && Object.keys(cond).length === 1) re = cond.$regex;
  else if (isPlainObject(cond) && typeof cond.$regex === "string" && !cond.$options && Object.keys(cond).length === 1) re = new RegExp(cond.$regex);
  if (!re || re.flags.replace(/[gu]/g, "") !== "") return null;
  const m = /^\^((?:[^\\.*+?()[\]{}|^$]|\\[^A-Za-z0-9])*)/.exec(re.source);
  if (!m || m[1].length === 0) return null;
  return m[1].replace(/\\(.)/g, "$1");
}

/**
 * A key test for `$gt/$gte/$lt/$lte` on one type (strings, numbers or dates), or null. It reads
 * index keys as values.ts's keyOf writes them: a type letter ("s", "n", "d") and the value.
 */
function rangeTest(cond: unknown): ((key: string) => boolean) | null {
  if (!isPlainObject(cond)) return null;
  const ops = Object.keys(cond);
  if (ops.length === 0 || !ops.every((o) => ["$gt", "$gte", "$lt", "$lte"].includes(o))) return null;
  const values = ops.map((o) => cond[o]);
  const kind = typeof values[0] === "string" ? "s" : typeof values[0] === "number" ? "n" : values[0] instanceof Date ? "d" : null;
  if (!kind || !values.every((v) => (kind === "s" ? typeof v === "string" : kind === "n" ? typeof v === "number" : v instanceof Date))) return null;
  const decode = (key: string): string | number => (kind === "s" ? key.slice(1) : Number(key.slice(1)));
  const bound = (v: unknown): string | number => (kind === "s" ? (v as string) : kind === "n" ? (v as number) : (v as Date).getTime());
  return (key: string) => {
    if (key[0] !== kind) return false;
    const k = decode(key);
    return ops.every((o) => {
      const b = bound(cond[o]);
      return o === "$gt" ? k > b : o === "$gte" ? k >= b : o === "$lt" ? k < b : k <= b;
    });
  };
}

/**
 * The filter with a top-level `$and`'s parts lifted beside its other conditions (nested `$and`s
 * too; the first condition on a field wins), for planning only: each part holds for every match,
 * so any of them may narrow the candidates. A keyset page (`{$and: [{conversation_id: c, …},
 * {$or: [{seq: {$gt: s}}, …]}]}`, common/connection.ts) is then an index read, not a scan of
 * the whole collection, as in MongoDB.
 */
function conjuncts(filter: Doc): Doc {
  const parts = filter.$and;
  if (!Array.isArray(parts) || !parts.every(isPlainObject)) return filter;
  const out: Doc = {};
  for (const [k, v] of Object.entries(filter)) if (k !== "$and") out[k] = v;
  for (const part of parts as Doc[]) for (const [k, v] of Object.entries(conjuncts(part))) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * Picks the access path for a prepared filter: the text index for `$text`; the `_id` map for
 * an `_id` equality; the secondary index whose leading-field equality gives the fewest keys
 * (a unique one on a tie); else the smallest prefix-regex or range read; else a scan.
 */
export function planQuery(indexes: ReadonlyMap<string, Index>, given: Doc, text: TextSearch | null, collation: CollationSpec | null | undefined): AccessPath {
  const strength = collationStrength(collation);
  const filter = conjuncts(given);
  if (text) {
    for (const index of indexes.values()) if (index.text) return { stage: "TEXT", index, search: text };
    throw new MongoServerError("IndexNotFound", "text index required for $text query");
  }
  const ids = idLookup(filter, collation);
  if (ids) return { stage: "IDHACK", ids };
  let best: { index: Index; keys: Set<string> } | null = null;
  for (const index of indexes.values()) {
    // Hidden indexes are kept up to date (and unique ones enforced) but never chosen.
    if (index.hidden || index.fields.length === 0 || !index.servesQuery(filter)) continue;
    const values = equalityValues(filter, index.fields[0]);
    if (!values) continue;
    // A string lookup is only exact when the query compares strings the way the index stores them.
    if (index.strength !== strength && values.some((v) => typeof v === "string")) continue;
    if (index.sparse && values.some((v) => v === null)) continue;
    const keys = index.lookupLeading(values);
    if (!best || keys.size < best.keys.size || (keys.size === best.keys.size && index.unique && !best.index.unique)) best = { index, keys };
  }
  if (!best && Array.isArray(filter.$or)) best = orUnion(indexes, filter.$or as unknown[], strength);
  if (!best) {
    // Prefix regexes and ranges on a leading field: read the index's keys, not the documents.
    for (const index of indexes.values()) {
      if (index.hidden || index.fields.length === 0 || index.sparse || !index.servesQuery(filter)) continue;
      const cond = filter[index.fields[0]];
      const prefix = index.strength === 3 ? regexPrefix(cond) : null;
      const test = prefix !== null ? (key: string) => key.startsWith("s" + prefix) : index.strength === 3 && strength === 3 ? rangeTest(cond) : null;
      if (!test) continue;
      const keys = index.lookupLeadingWhere(test);
      if (!best || keys.size < best.keys.size) best = { index, keys };
    }
  }
  if (best) return { stage: "IXSCAN", index: best.index, keys: best.keys };
  return { stage: "COLLSCAN" };
}

/**
 * A top-level `$or` whose every clause gives equality values for one index's leading field
 * (`{$or: [{conversation_id: a, seq: …}, {conversation_id: b, rev: …}]}`): the union of those
 * lookups, as MongoDB serves each clause by an index. Null when some clause would need a scan.
 */
function orUnion(indexes: ReadonlyMap<string, Index>, clauses: unknown[], strength: number): { index: Index; keys: Set<string> } | null {
  if (clauses.length === 0 || !clauses.every(isPlainObject)) return null;
  let best: { index: Index; keys: Set<string> } | null = null;
  for (const index of indexes.values()) {
    if (index.hidden || index.fields.length === 0) continue;
    const keys = new Set<string>();
    const served = (clauses as Doc[]).every((clause) => {
      if (!index.servesQuery(clause)) return false;
      const values = equalityValues(clause, index.fields[0]);
      if (!values || (index.strength !== strength && values.some((v) => typeof v === "string"))) return false;
      if (index.sparse && values.some((v) => v === null)) return false;
      for (const k of index.lookupLeading(values)) keys.add(k);
      return true;
    });
    if (served && (!best || keys.size < best.keys.size)) best = { index, keys };
  }
  return best;
}
