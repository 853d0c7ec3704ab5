/**
 * Writes over mingo's updater (the counterpart of query.ts, as mingo splits query and
 * updater): classifying and checking an update document before any write, applying it to a
 * copy the collection owns, and the document an upsert starts from. `$setOnInsert` is
 * handled here because mingo does not know it; a fast path serves the commonest array-filter
 * update without mingo's per-element queries.
 */
import { updateOne as mingoUpdateOne } from "mingo/updater";
import { isObjectId } from "./bson-types.js";
import { MongoServerError, failedToParse, toServerError } from "./errors.js";
import { mingoOptions } from "./operators.js";
import { applyFastPipeline } from "./pipeline-fast.js";
import { type CollationSpec, type Doc, collationStrength, compareValues, isPlainObject, keyOf } from "./values.js";

/** The update operators MongoDB accepts; any other `$` key fails the statement before a write. */
const UPDATE_OPERATORS = new Set([
  "$set",
  "$unset",
  "$inc",
  "$mul",
  "$min",
  "$max",
  "$rename",
  "$currentDate",
  "$push",
  "$pop",
  "$pull",
  "$pullAll",
  "$addToSet",
  "$bit",
  "$setOnInsert",
]);

/** Operators the array-filter fast path below applies itself (everything else goes to mingo). */
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

export type UpdateSpec = { kind: "replacement"; doc: Doc } | { kind: "operators"; ops: Doc } | { kind: "pipeline"; stages: Doc[] };

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
    throw failedToParse(
      `Unknown modifier: ${keys.find((k) => !k.startsWith("$"))}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  for (const k of keys) {
    if (!UPDATE_OPERATORS.has(k))
      throw failedToParse(`Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`);
    if (!isPlainObject(u[k]))
      throw failedToParse(
        `Modifiers operate on fields but we found type ${typeof u[k]} instead. For example: {$mod: {<field>: ...}} not {${k}: ${JSON.stringify(u[k])}}`,
      );
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
  /** The caller already tried applyFastUpdate on this update: straight to mingo. */
  fastTried?: boolean;
}

/**
 * The fast path of a pipeline update (pipeline-fast.ts) on `target`, which may be a SHALLOW
 * copy of the stored document: the fast path only assigns top-level fields, and the values it
 * assigns may share unchanged parts with the stored version (stored documents are never changed
 * in place). Null when mingo must apply it — on a deep copy the caller makes then.
 */
export function applyFastUpdate(target: Doc, spec: UpdateSpec, opts: ApplyOptions): boolean | null {
  // Strings compare exactly in the fast path: a collation is mingo's.
  if (spec.kind !== "pipeline" || collationStrength(opts.collation) !== 3) return null;
  return applyFastPipeline(target, spec.stages);
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
      // The commonest shapes without mingo (pipeline-fast.ts).
      const fast = opts.fastTried ? null : applyFastUpdate(target, spec, opts);
      if (fast !== null) return fast;
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
      mingoUpdateOne(
        docs,
        positional ? opts.condition : {},
        modifier as never,
        { arrayFilters: opts.arrayFilters ?? [], cloneMode: "deep" },
        mingoOptions(opts.collation),
      ).modifiedCount > 0;
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
