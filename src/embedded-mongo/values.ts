/**
 * BSON value helpers: comparison in MongoDB's order (across types by bson-types.ts's
 * TypeOrder), canonical keys for hash-based indexes, collation-aware string keys, deep cloning
 * and dotted-path reads.
 *
 * Documents arrive deserialized with the driver's defaults (Int32/Int64/Double promoted to JS
 * numbers when safe), so numbers are plain JS numbers here, except Int64 values outside the safe
 * range and Decimal128, which keep their BSON classes and are compared through Number().
 */
import { Binary, Decimal128, Long, ObjectId, Timestamp } from "bson";
import { TypeOrder, isNumeric, isObjectId, typeRank } from "./bson-types.js";

export type Doc = Record<string, unknown>;

/** A collation as a find/update/index carries it; only `strength` changes matching here. */
export interface CollationSpec {
  locale?: string;
  strength?: number;
  caseLevel?: boolean;
}

/** Strength 3 (the default) and the "simple" locale compare code points exactly. */
export function collationStrength(c: CollationSpec | undefined | null): number {
  if (!c || c.locale === "simple") return 3;
  return typeof c.strength === "number" ? c.strength : 3;
}

/** Normalizes a string for equality under a collation strength: 1 ignores case and accents, 2 case only. */
export function collate(s: string, strength: number): string {
  if (strength >= 3) return s;
  const lower = s.toLocaleLowerCase("en-US");
  if (strength === 2) return lower;
  return lower.normalize("NFD").replace(/\p{M}/gu, "");
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Decimal128) return Number(v.toString());
  return NaN;
}

function cmp<T>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bytesOf(v: Binary | Uint8Array): Uint8Array {
  return v instanceof Binary ? v.buffer : v;
}

/** Compares two BSON values the way MongoDB orders them (arrays compared element-wise). */
export function compareValues(a: unknown, b: unknown, strength = 3): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return cmp(ra, rb);
  switch (ra) {
    case TypeOrder.Number: {
      const x = toNumber(a);
      const y = toNumber(b);
      if (Number.isNaN(x) || Number.isNaN(y)) return cmp(Number.isNaN(x) ? 0 : 1, Number.isNaN(y) ? 0 : 1);
      return cmp(x, y);
    }
    case TypeOrder.String: {
      const x = String(a);
      const y = String(b);
      return strength >= 3 ? cmp(x, y) : cmp(collate(x, strength), collate(y, strength));
    }
    case TypeOrder.Object: {
      const ka = Object.keys(a as Doc);
      const kb = Object.keys(b as Doc);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const va = (a as Doc)[ka[i]];
        const vb = (b as Doc)[kb[i]];
        const t = cmp(typeRank(va), typeRank(vb));
        if (t) return t;
        const k = cmp(ka[i], kb[i]);
        if (k) return k;
        const c = compareValues(va, vb, strength);
        if (c) return c;
      }
      return cmp(ka.length, kb.length);
    }
    case TypeOrder.Array: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
        const c = compareValues(xa[i], xb[i], strength);
        if (c) return c;
      }
      return cmp(xa.length, xb.length);
    }
    case TypeOrder.BinData: {
      const x = bytesOf(a as Binary);
      const y = bytesOf(b as Binary);
      if (x.length !== y.length) return cmp(x.length, y.length);
      return Buffer.compare(Buffer.from(x), Buffer.from(y));
    }
    case TypeOrder.ObjectId:
      return cmp((a as ObjectId).toHexString(), (b as ObjectId).toHexString());
    case TypeOrder.Bool:
      return cmp(a ? 1 : 0, b ? 1 : 0);
    case TypeOrder.Date:
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case TypeOrder.Timestamp:
      return (a as Timestamp).compare(b as Timestamp);
    case TypeOrder.Regex:
      return cmp(String(a), String(b));
    default:
      return 0;
  }
}

/**
 * The value a sort key takes for a document: for arrays, ascending sorts use the smallest
 * element and descending sorts the largest (MongoDB's rule); an empty array sorts before null.
 */
export function sortKeyOf(doc: unknown, path: string, direction: 1 | -1, strength: number): unknown {
  const values = valuesAtPath(doc, path, true);
  if (values.length === 1) return values[0];
  let best: unknown = values[0];
  for (const v of values.slice(1)) {
    const c = compareValues(v, best, strength);
    if ((direction === 1 && c < 0) || (direction === -1 && c > 0)) best = v;
  }
  return best;
}

/**
 * Every value a dotted path reaches in a document, descending into arrays as MongoDB's
 * multikey indexes do. A missing path yields [undefined]. With `expandLeaf`, an array at the
 * end of the path contributes its elements (index keys); otherwise the array itself.
 */
export function valuesAtPath(doc: unknown, path: string, expandLeaf: boolean): unknown[] {
  // A top-level field holding no array: the common case of index keys, without the walk.
  if (!path.includes(".") && doc !== null && typeof doc === "object" && !Array.isArray(doc) && !(doc instanceof Date) && !isObjectId(doc)) {
    const v = (doc as Doc)[path];
    if (!Array.isArray(v)) return [v];
  }
  const parts = path.split(".");
  const out: unknown[] = [];
  const walk = (v: unknown, i: number): void => {
    if (i === parts.length) {
      if (expandLeaf && Array.isArray(v)) {
        if (v.length === 0) out.push(undefined);
        else for (const e of v) out.push(e);
      } else out.push(v);
      return;
    }
    if (Array.isArray(v)) {
      const idx = /^\d+$/.test(parts[i]) ? Number(parts[i]) : -1;
      if (idx >= 0 && idx < v.length) return walk(v[idx], i + 1);
      let any = false;
      for (const e of v) {
        if (e !== null && typeof e === "object" && !Array.isArray(e)) {
          any = true;
          walk(e, i);
        }
      }
      if (!any) out.push(undefined);
      return;
    }
    if (v !== null && typeof v === "object" && !(v instanceof Date) && !isObjectId(v)) {
      walk((v as Doc)[parts[i]], i + 1);
      return;
    }
    out.push(undefined);
  };
  walk(doc, 0);
  return out.length ? out : [undefined];
}

/** Reads one dotted path without array expansion (for _id and plain nested documents). */
export function getPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const p of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Doc)[p];
  }
  return v;
}

/**
 * A canonical string for a value such that two values MongoDB considers equal (1, 1.0 and
 * Long 1; the same ObjectId; strings equal under the collation) give the same key. Used by the
 * hash indexes and as the storage key of `_id`.
 */
export function keyOf(v: unknown, strength = 3): string {
  if (v === undefined || v === null) return "z";
  if (typeof v === "string") return "s" + collate(v, strength);
  if (isNumeric(v)) {
    const n = toNumber(v);
    return "n" + (Object.is(n, -0) ? "0" : String(n));
  }
  if (typeof v === "boolean") return v ? "b1" : "b0";
  if (isObjectId(v)) return objectIdKey(v);
  if (v instanceof Date) return "d" + v.getTime();
  if (Array.isArray(v)) return "a[" + v.map((e) => keyOf(e, strength)).join(",") + "]";
  if (v instanceof Binary) return "x" + v.sub_type + ":" + Buffer.from(v.buffer).toString("base64");
  if (v instanceof Uint8Array) return "x0:" + Buffer.from(v).toString("base64");
  if (v instanceof RegExp) return "r" + v.source + "/" + v.flags;
  if (v instanceof Timestamp) return "t" + v.toString();
  if (isPlainObject(v)) {
    return (
      "{" +
      Object.entries(v)
        .map(([k, e]) => JSON.stringify(k) + ":" + keyOf(e, strength))
        .join(",") +
      "}"
    );
  }
  return "?" + String(v);
}

/**
 * `keyOf(a) === keyOf(b)` without building either string: it stops at the first difference and
 * allocates nothing on the common shapes. A transaction's commit compares every written document
 * with its committed version field by field; serializing a conversation with 1,024 members
 * twice per field was most of a group send's commit.
 */
export function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || a === null || b === undefined || b === null) return (a === undefined || a === null) && (b === undefined || b === null);
  if (typeof a === "string" || typeof b === "string") return false; // equal strings are ===
  if (isNumeric(a) && isNumeric(b)) {
    const x = toNumber(a);
    const y = toNumber(b);
    return x === y || (Number.isNaN(x) && Number.isNaN(y));
  }
  if (isObjectId(a) && isObjectId(b)) return sameObjectId(a, b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameKey(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || !sameKey(a[ka[i]], b[kb[i]])) return false;
    return true;
  }
  // Mixed or rarer types (Binary, RegExp, Timestamp, a number against a string…): by their keys.
  return keyOf(a) === keyOf(b);
}

function sameObjectId(a: ObjectId, b: ObjectId): boolean {
  const x = a as unknown as { i0?: unknown; i1: number; i2: number; i3: number };
  const y = b as unknown as { i0?: unknown; i1: number; i2: number; i3: number };
  if (typeof x.i0 === "number" && typeof y.i0 === "number") return x.i0 === y.i0 && x.i1 === y.i1 && x.i2 === y.i2 && x.i3 === y.i3;
  return a.toHexString() === b.toHexString();
}

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");
const idKeyBytes = Buffer.alloc(25, 0x6f); // "o" + 24 hex digits

/** Writes the 24-bit int `n` as 6 hex digits at `at`. */
function writeHex24(n: number, at: number): void {
  for (let i = 5; i >= 0; i--) {
    idKeyBytes[at + i] = HEX_DIGITS[n & 15];
    n >>>= 4;
  }
}

/**
 * `"o" + hex` as one flat string. bson's toHexString concatenates 12 pieces, and V8 keeps such a
 * result as a tree of cons strings (7 nodes, ~250 bytes): every document key and posting in the
 * maps held that tree, a third of the heap at 100k documents. Written into a buffer and read
 * back, the key is a single 25-byte string (and no garbage is made on the way).
 */
function objectIdKey(v: ObjectId): string {
  const ints = v as unknown as { i0?: unknown; i1: number; i2: number; i3: number };
  if (typeof ints.i0 === "number") {
    // bson ≥ 7 keeps the 12 bytes as four 24-bit ints.
    writeHex24(ints.i0, 1);
    writeHex24(ints.i1, 7);
    writeHex24(ints.i2, 13);
    writeHex24(ints.i3, 19);
  } else {
    idKeyBytes.write(v.toHexString(), 1, 24, "latin1");
  }
  return idKeyBytes.toString("latin1", 0, 25);
}

/**
 * Deep copy that keeps BSON classes. ObjectId, Long, Decimal128, Binary and Timestamp are
 * immutable in practice and shared; Dates, arrays and plain objects are copied.
 */
export function cloneDoc<T>(v: T): T {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((e) => cloneDoc(e)) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const [k, e] of Object.entries(v)) out[k] = cloneDoc(e);
    return out as T;
  }
  return v;
}

/** Structural equality in MongoDB's sense (field order matters for documents). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return keyOf(a) === keyOf(b) && typeRank(a) === typeRank(b);
}

/** Puts `_id` first, as MongoDB stores it. */
export function idFirst(doc: Doc): Doc {
  if (!("_id" in doc) || Object.keys(doc)[0] === "_id") return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

/**
 * Copies a value with every string folded for a collation strength below 3. Matching a folded
 * filter against a folded document gives MongoDB's case- (and accent-) insensitive equality,
 * which mingo lacks (its collation only affects sorting).
 */
export function foldStrings<T>(v: T, strength: number): T {
  if (typeof v === "string") return collate(v, strength) as T;
  if (Array.isArray(v)) return v.map((e) => foldStrings(e, strength)) as T;
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const [k, e] of Object.entries(v)) out[k] = foldStrings(e, strength);
    return out as T;
  }
  return v;
}
