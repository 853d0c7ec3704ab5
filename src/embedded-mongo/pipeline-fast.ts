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
 *
 * Each expression is compiled once per update into closures (shape checks and field paths done
 * then), which a `$map` runs per element: walking the expression objects again for each of
 * 1,024 members (their keys, `$$m.user_id` split at every use) was most of the update.
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
        const value = compile(expr)(doc, { ROOT: doc, CURRENT: doc });
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

/** A compiled expression: its value in `doc` with these variables. */
type Compiled = (doc: Doc, scope: Scope) => unknown;

function compile(expr: unknown): Compiled {
  if (typeof expr === "string") {
    if (expr.startsWith("$$")) return variable(expr.slice(2));
    if (expr.startsWith("$")) {
      const parts = expr.slice(1).split(".");
      return (doc) => path(doc, parts);
    }
    return () => expr;
  }
  if (expr === undefined) throw UNSUPPORTED;
  if (expr === null || typeof expr !== "object") return () => expr;
  if (Array.isArray(expr)) {
    const items = expr.map(compile);
    return (doc, scope) => items.map((f) => f(doc, scope));
  }
  if (!isPlainObject(expr)) return () => expr; // ObjectId, Date, other BSON values: literals
  const keys = Object.keys(expr);
  if (keys.length === 1 && keys[0].startsWith("$")) return operator(keys[0], expr[keys[0]]);
  if (keys.some((k) => k.startsWith("$") || k.includes("."))) throw UNSUPPORTED;
  // An expression object: each field evaluated, missing ones left out.
  const fields = keys.map((k) => [k, compile(expr[k])] as const);
  return (doc, scope) => {
    const out: Doc = {};
    for (const [k, f] of fields) {
      const v = f(doc, scope);
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
}

function variable(ref: string): Compiled {
  const parts = ref.split(".");
  const name = parts.shift()!;
  return (_doc, scope) => {
    if (!(name in scope)) throw UNSUPPORTED; // $$NOW, $$REMOVE, user variables from `let`…
    const value = scope[name];
    return parts.length === 0 ? value : path(value, parts);
  };
}

/** A dotted path through embedded documents; through an array it would yield an array: mingo's. */
function path(value: unknown, parts: string[]): unknown {
  let v = value;
  for (const part of parts) {
    if (v === undefined || v === null) return undefined;
    if (!isPlainObject(v)) throw UNSUPPORTED;
    v = v[part];
  }
  return v;
}

function args(arg: unknown): Compiled[] {
  if (!Array.isArray(arg)) throw UNSUPPORTED;
  return arg.map(compile);
}

function isNothing(v: unknown): boolean {
  return v === null || v === undefined;
}

function operator(op: string, arg: unknown): Compiled {
  switch (op) {
    case "$literal":
      return () => arg;
    case "$add": {
      const terms = args(arg);
      return (doc, scope) => {
        const values = terms.map((f) => f(doc, scope));
        if (values.some(isNothing)) return null;
        let sum = 0;
        for (const v of values) {
          if (typeof v !== "number") throw UNSUPPORTED; // Dates, Long, Decimal128: mingo's
          sum += v;
        }
        return sum;
      };
    }
    case "$ifNull": {
      if (!Array.isArray(arg) || arg.length < 2) throw UNSUPPORTED;
      const options = args(arg);
      return (doc, scope) => {
        for (const f of options) {
          const v = f(doc, scope);
          if (!isNothing(v)) return v;
        }
        return null;
      };
    }
    case "$max": {
      // Only the list form; nulls and missing values are ignored, as MongoDB does.
      const terms = args(arg);
      return (doc, scope) => {
        let max: number | null = null;
        for (const f of terms) {
          const v = f(doc, scope);
          if (isNothing(v)) continue;
          if (typeof v !== "number" || Number.isNaN(v)) throw UNSUPPORTED;
          if (max === null || v > max) max = v;
        }
        return max;
      };
    }
    case "$eq": {
      const sides = args(arg);
      if (sides.length !== 2) throw UNSUPPORTED;
      const [left, right] = sides;
      return (doc, scope) => {
        const a = left(doc, scope);
        const b = right(doc, scope);
        if (isObjectId(a) && isObjectId(b)) return sameKey(a, b);
        const t = typeof a;
        if (t === typeof b && (t === "number" || t === "string" || t === "boolean")) return a === b;
        throw UNSUPPORTED; // missing vs null, mixed types, documents: mingo's
      };
    }
    case "$map": {
      if (!isPlainObject(arg) || !("input" in arg) || !("in" in arg)) throw UNSUPPORTED;
      if (Object.keys(arg).some((k) => k !== "input" && k !== "as" && k !== "in")) throw UNSUPPORTED;
      const as = arg.as ?? "this";
      if (typeof as !== "string") throw UNSUPPORTED;
      const input = compile(arg.input);
      const each = compile(arg.in);
      return (doc, scope) => {
        const list = input(doc, scope);
        if (isNothing(list)) return null;
        if (!Array.isArray(list)) throw UNSUPPORTED;
        const inner: Scope = { ...scope };
        const out = new Array<unknown>(list.length);
        for (let i = 0; i < list.length; i++) {
          inner[as] = list[i];
          const v = each(doc, inner);
          if (v === undefined) throw UNSUPPORTED;
          out[i] = v;
        }
        return out;
      };
    }
    case "$switch": {
      if (!isPlainObject(arg) || !Array.isArray(arg.branches)) throw UNSUPPORTED;
      const branches = (arg.branches as unknown[]).map((branch) => {
        if (!isPlainObject(branch) || !("case" in branch) || !("then" in branch)) throw UNSUPPORTED;
        return [compile(branch.case), compile(branch.then)] as const;
      });
      // Without a default MongoDB fails the update when no branch matches: mingo says how.
      const otherwise = "default" in arg ? compile(arg.default) : null;
      return (doc, scope) => {
        for (const [test, then] of branches) {
          const c = test(doc, scope);
          if (typeof c !== "boolean") throw UNSUPPORTED; // truthiness of other values: mingo's
          if (c) return then(doc, scope);
        }
        if (!otherwise) throw UNSUPPORTED;
        return otherwise(doc, scope);
      };
    }
    case "$mergeObjects": {
      const parts = Array.isArray(arg) ? arg.map(compile) : [compile(arg)];
      return (doc, scope) => {
        const out: Doc = {};
        for (const f of parts) {
          const v = f(doc, scope);
          if (isNothing(v)) continue;
          if (!isPlainObject(v)) throw UNSUPPORTED;
          for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = e;
        }
        return out;
      };
    }
    default:
      throw UNSUPPORTED;
  }
}
