/**
 * A fast path for pipeline-style updates made only of `$set`/`$addFields` stages over a small
 * set of expression operators — the shape of a message send's seq allocation
 * (`$add` to `last_seq`, and a `$map` over the members with `$switch`/`$eq` on the sender and
 * `$mergeObjects`/`$max` of its marks). mingo evaluates those through its general operator
 * machinery, hashing every ObjectId it compares: ≈ 5 ms for a 1,024-member group. This walks
 * the expressions directly.
 *
 * It answers only what it is sure of: any other stage, operator, type or edge (a missing value
 * compared, a `$max` over strings, a field path through an array, a collation) returns null and
 * the caller hands the whole update to mingo, so results never depend on which path ran
 * (pipeline-fast.test.ts compares the two).
 */
import { isObjectId } from "./bson-types.js";
import { type Doc, isPlainObject, sameKey } from "./values.js";

/** Thrown inside the evaluator when an expression is outside the fast path. */
class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

type Scope = Record<string, unknown>;

/**
 * Applies `stages` to `target` in place when every part is supported; returns whether the
 * document changed, or null (target untouched) when mingo must apply the update.
 */
export function applyFastPipeline(target: Doc, stages: Doc[]): boolean | null {
  // Evaluate every stage first: a stage reads the document as the previous one left it.
  const plans: Array<Array<[string, unknown]>> = [];
  let doc: Doc = target;
  try {
    for (const stage of stages) {
      const [name, spec] = Object.entries(stage)[0] ?? [];
      if ((name !== "$set" && name !== "$addFields") || !isPlainObject(spec)) return null;
      const assigned: Array<[string, unknown]> = [];
      for (const [field, expr] of Object.entries(spec)) {
        if (field.includes(".") || field.startsWith("$") || field === "_id") return null;
        // An object literal merges into an embedded document in $addFields: left to mingo.
        if (isPlainObject(expr) && !isOperator(expr)) return null;
        const value = evaluate(expr, doc, { ROOT: doc, CURRENT: doc });
        if (value === undefined) return null;
        assigned.push([field, value]);
      }
      plans.push(assigned);
      if (stages.length > 1) doc = { ...doc, ...Object.fromEntries(assigned) };
    }
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
  let changed = false;
  for (const assigned of plans) {
    for (const [field, value] of assigned) {
      if (field in target && sameKey(target[field], value) && typeof target[field] === typeof value) continue;
      // Not copied: a value may share unchanged parts (the members a $map passes through) with
      // the stored version it was computed from, which is never changed in place either
      // (collection.ts); copying a 1,024-element array per send was most of the allocation.
      target[field] = value;
      changed = true;
    }
  }
  return changed;
}

function isOperator(expr: Doc): boolean {
  const keys = Object.keys(expr);
  return keys.length === 1 && keys[0].startsWith("$");
}

function evaluate(expr: unknown, doc: Doc, scope: Scope): unknown {
  if (typeof expr === "string") {
    if (expr.startsWith("$$")) return variable(expr.slice(2), scope);
    if (expr.startsWith("$")) return path(doc, expr.slice(1));
    return expr;
  }
  if (expr === null || typeof expr !== "object") {
    if (expr === undefined) throw UNSUPPORTED;
    return expr;
  }
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, doc, scope));
  if (!isPlainObject(expr)) return expr; // ObjectId, Date, other BSON values: literals
  const keys = Object.keys(expr);
  if (keys.length === 1 && keys[0].startsWith("$")) return operator(keys[0], expr[keys[0]], doc, scope);
  if (keys.some((k) => k.startsWith("$") || k.includes("."))) throw UNSUPPORTED;
  // An expression object: each field evaluated, missing ones left out.
  const out: Doc = {};
  for (const k of keys) {
    const v = evaluate(expr[k], doc, scope);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function variable(ref: string, scope: Scope): unknown {
  const dot = ref.indexOf(".");
  const name = dot < 0 ? ref : ref.slice(0, dot);
  if (!(name in scope)) throw UNSUPPORTED; // $$NOW, $$REMOVE, user variables from `let`…
  const value = scope[name];
  return dot < 0 ? value : path(value, ref.slice(dot + 1));
}

/** A dotted path through embedded documents; through an array it would yield an array: mingo's. */
function path(value: unknown, dotted: string): unknown {
  let v = value;
  for (const part of dotted.split(".")) {
    if (v === undefined || v === null) return undefined;
    if (!isPlainObject(v)) throw UNSUPPORTED;
    v = v[part];
  }
  return v;
}

function args(arg: unknown, doc: Doc, scope: Scope): unknown[] {
  if (!Array.isArray(arg)) throw UNSUPPORTED;
  return arg.map((a) => evaluate(a, doc, scope));
}

function isNothing(v: unknown): boolean {
  return v === null || v === undefined;
}

function operator(op: string, arg: unknown, doc: Doc, scope: Scope): unknown {
  switch (op) {
    case "$literal":
      return arg;
    case "$add": {
      const values = args(arg, doc, scope);
      if (values.some(isNothing)) return null;
      let sum = 0;
      for (const v of values) {
        if (typeof v !== "number") throw UNSUPPORTED; // Dates, Long, Decimal128: mingo's
        sum += v;
      }
      return sum;
    }
    case "$ifNull": {
      if (!Array.isArray(arg) || arg.length < 2) throw UNSUPPORTED;
      for (const a of arg) {
        const v = evaluate(a, doc, scope);
        if (!isNothing(v)) return v;
      }
      return null;
    }
    case "$max": {
      // Only the list form; nulls and missing values are ignored, as MongoDB does.
      const values = args(arg, doc, scope).filter((v) => !isNothing(v));
      if (values.length === 0) return null;
      if (values.some((v) => typeof v !== "number" || Number.isNaN(v))) throw UNSUPPORTED;
      return Math.max(...(values as number[]));
    }
    case "$eq": {
      const values = args(arg, doc, scope);
      if (values.length !== 2) throw UNSUPPORTED;
      const [a, b] = values;
      if (isObjectId(a) && isObjectId(b)) return sameKey(a, b);
      const t = typeof a;
      if (t === typeof b && (t === "number" || t === "string" || t === "boolean")) return a === b;
      throw UNSUPPORTED; // missing vs null, mixed types, documents: mingo's
    }
    case "$map": {
      if (!isPlainObject(arg) || !("input" in arg) || !("in" in arg)) throw UNSUPPORTED;
      const keys = Object.keys(arg);
      if (keys.some((k) => k !== "input" && k !== "as" && k !== "in")) throw UNSUPPORTED;
      const input = evaluate(arg.input, doc, scope);
      if (isNothing(input)) return null;
      if (!Array.isArray(input)) throw UNSUPPORTED;
      const as = arg.as ?? "this";
      if (typeof as !== "string") throw UNSUPPORTED;
      const inner: Scope = { ...scope };
      return input.map((element) => {
        inner[as] = element;
        const v = evaluate(arg.in, doc, inner);
        if (v === undefined) throw UNSUPPORTED;
        return v;
      });
    }
    case "$switch": {
      if (!isPlainObject(arg) || !Array.isArray(arg.branches)) throw UNSUPPORTED;
      for (const branch of arg.branches as unknown[]) {
        if (!isPlainObject(branch) || !("case" in branch) || !("then" in branch)) throw UNSUPPORTED;
        const c = evaluate(branch.case, doc, scope);
        if (typeof c !== "boolean") throw UNSUPPORTED; // truthiness of other values: mingo's
        if (c) return evaluate(branch.then, doc, scope);
      }
      if (!("default" in arg)) throw UNSUPPORTED; // MongoDB fails the update: mingo says how
      return evaluate(arg.default, doc, scope);
    }
    case "$mergeObjects": {
      const values = Array.isArray(arg) ? arg.map((a) => evaluate(a, doc, scope)) : [evaluate(arg, doc, scope)];
      const out: Doc = {};
      for (const v of values) {
        if (isNothing(v)) continue;
        if (!isPlainObject(v)) throw UNSUPPORTED;
        for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = e;
      }
      return out;
    }
    default:
      throw UNSUPPORTED;
  }
}
