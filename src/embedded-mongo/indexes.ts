/**
 * Secondary indexes as hash maps: key string → document keys. Unique checks are one map lookup
 * per key, and equality / `$in` on an index's leading field are served from it, so finds by an
 * indexed field cost the same at 1k or 100k documents. Text indexes keep an inverted term map.
 */
import { MongoServerError, badValue, notSupported } from "./errors.js";
import { compileFilter } from "./query.js";
import { upsertSeed } from "./update.js";
import { documentTerms, type TextFields } from "./text.js";
import { type CollationSpec, type Doc, collationStrength, isPlainObject, keyOf, valuesAtPath } from "./values.js";

export interface IndexSpec extends Doc {
  v: number;
  key: Doc;
  name: string;
}

/**
 * The keys of documents with many keys (a multikey index over a big array: `members.user_id` of a
 * 1,024-member conversation), by key pattern. A stored document is never changed in place, so
 * its keys never change: a group send's update then needs only its new version's keys, which
 * the transaction's commit and the next send find here, instead of walking every member four
 * times (old and new version, in the transaction's view and in the collection). Weak: entries
 * go with their documents. Callers must not change the arrays.
 */
const keyCache = new WeakMap<Doc, Map<string, string[]>>();
/** Below this many keys a document's keys are cheaper to compute again than to keep. */
const CACHED_KEYS = 16;

/** Options that make two index specs differ (for IndexOptionsConflict). */
const OPTION_FIELDS = ["unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation", "weights"];

export class Index {
  readonly spec: IndexSpec;
  readonly name: string;
  /** Non-text key fields in order. */
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly strength: number;
  readonly collation: CollationSpec | null;
  readonly expireAfterSeconds: number | null;
  /** Not used to answer queries (collMod/createIndex `hidden`); still maintained. */
  readonly hidden: boolean;
  readonly text: TextFields | null;
  private readonly partial: ((doc: Doc) => boolean) | null;
  /** Full key → document key(s). */
  private readonly entries: Postings = new Map();
  /** Leading field key → document keys (compound indexes only; otherwise `entries`). */
  private readonly leading: Postings | null;
  /** Text indexes: term → document keys. */
  private readonly terms: Postings = new Map();
  /** What a document's keys depend on: the fields and the collation strength (keyCache). */
  private readonly keyPattern: string;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.name = spec.name;
    const keyEntries = Object.entries(spec.key);
    if (keyEntries.length === 0) throw badValue("Index keys cannot be empty.");
    const textKeys = keyEntries.filter(([, v]) => v === "text");
    this.fields = keyEntries.filter(([, v]) => v !== "text").map(([k]) => k);
    for (const [k, v] of keyEntries) {
      if (v === "2dsphere" || v === "2d" || v === "geoHaystack") throw notSupported(`a ${v} index (field ${k})`);
      if (k === "$**" || k.endsWith(".$**")) throw notSupported(`a wildcard index (${k})`);
      if (v !== "text" && v !== 1 && v !== -1 && typeof v !== "number" && v !== "hashed" && v !== "2dsphere") {
        throw new MongoServerError("CannotCreateIndex", `Values in the index key pattern can't be '${String(v)}' for field ${k}`);
      }
    }
    if (textKeys.length > 0 || isPlainObject(spec.weights)) {
      const weights = (isPlainObject(spec.weights) ? spec.weights : {}) as Record<string, number>;
      const paths = new Set([...textKeys.map(([k]) => (k === "_fts" ? "$**" : k)), ...Object.keys(weights)]);
      this.text = [...paths].map((path) => ({ path, weight: Number(weights[path] ?? 1) }));
      this.fields = this.fields.filter((f) => f !== "_ftsx");
    } else {
      this.text = null;
    }
    this.unique = spec.unique === true;
    this.hidden = spec.hidden === true;
    this.sparse = spec.sparse === true;
    this.collation = isPlainObject(spec.collation) ? (spec.collation as CollationSpec) : null;
    this.strength = collationStrength(this.collation);
    this.expireAfterSeconds = typeof spec.expireAfterSeconds === "number" ? spec.expireAfterSeconds : null;
    this.partial = isPlainObject(spec.partialFilterExpression) ? compileFilter(spec.partialFilterExpression) : null;
    this.leading = this.fields.length > 1 ? new Map() : null;
    this.keyPattern = JSON.stringify([this.fields, this.strength]);
  }

  /** True when another spec names the same key pattern. */
  sameKey(key: Doc): boolean {
    return keyOf(key) === keyOf(this.spec.key);
  }

  /** True when another spec has the same key pattern and options (creating it again is a no-op). */
  sameOptions(spec: Doc): boolean {
    return OPTION_FIELDS.every((f) => keyOf(spec[f] ?? null) === keyOf(this.spec[f] ?? null));
  }

  /**
   * Whether a query can use this index: always, unless partial, then only when the query's
   * equality conditions satisfy the partial filter (as MongoDB requires). Those conditions are
   * the document an upsert would start from, hence upsertSeed.
   */
  servesQuery(filter: Doc): boolean {
    return !this.partial || this.partial(upsertSeed(filter));
  }

  /** Whether the document has an entry at all (sparse and partial indexes skip some). */
  covers(doc: Doc): boolean {
    if (this.partial && !this.partial(doc)) return false;
    if (this.sparse && this.fields.every((f) => valuesAtPath(doc, f, false)[0] === undefined)) return false;
    return true;
  }

  private fieldKeys(doc: Doc, field: string): string[] {
    const values = valuesAtPath(doc, field, true);
    // The common case (one scalar value) without the Set: index builds on restart do 100k of these.
    if (values.length === 1) return [keyOf(values[0], this.strength)];
    return [...new Set(values.map((v) => keyOf(v, this.strength)))];
  }

  /** Every full key the document has in this index (several for array values); callers must not change the array. */
  keysOf(doc: Doc): string[] {
    const cached = keyCache.get(doc)?.get(this.keyPattern);
    if (cached) return cached;
    const keys = this.computeKeys(doc);
    if (keys.length >= CACHED_KEYS) {
      let byPattern = keyCache.get(doc);
      if (!byPattern) keyCache.set(doc, (byPattern = new Map()));
      byPattern.set(this.keyPattern, keys);
    }
    return keys;
  }

  private computeKeys(doc: Doc): string[] {
    if (this.fields.length === 1) return this.fieldKeys(doc, this.fields[0]);
    let combos: string[] = [""];
    let multikeyFields = 0;
    for (const [i, f] of this.fields.entries()) {
      const ks = this.fieldKeys(doc, f);
      // As in MongoDB, at most one field of a compound index may be an array.
      if (ks.length > 1 && ++multikeyFields > 1) throw new MongoServerError("BadValue", `cannot index parallel arrays [${this.fields.join("] [")}]`);
      const next: string[] = [];
      for (const c of combos) for (const k of ks) next.push(i === 0 ? k : c + "\u0000" + k);
      combos = next;
    }
    return combos;
  }

  /** The document key of another document holding one of `doc`'s unique keys, if any. */
  conflict(docKey: string, doc: Doc): { key: string } | null {
    if (!this.unique || !this.covers(doc)) return null;
    for (const k of this.keysOf(doc)) {
      for (const h of holders(this.entries, k)) if (h !== docKey) return { key: k };
    }
    return null;
  }

  /** Document keys holding any of `doc`'s keys in this index (transaction views pull them in before a unique check). */
  holdersOf(doc: Doc): Set<string> {
    const out = new Set<string>();
    if (!this.covers(doc) || this.fields.length === 0) return out;
    for (const k of this.keysOf(doc)) for (const h of holders(this.entries, k)) out.add(h);
    return out;
  }

  duplicateError(ns: string, doc: Doc): MongoServerError {
    const keyValue: Doc = {};
    for (const f of this.fields) keyValue[f] = valuesAtPath(doc, f, false)[0] ?? null;
    const shown = Object.entries(keyValue)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(", ");
    return new MongoServerError("DuplicateKey", `E11000 duplicate key error collection: ${ns} index: ${this.name} dup key: { ${shown} }`, {
      keyPattern: Object.fromEntries(this.fields.map((f) => [f, 1])),
      keyValue,
    });
  }

  add(docKey: string, doc: Doc): void {
    if (this.text) {
      for (const t of documentTerms(doc, this.text)) addTo(this.terms, t, docKey);
    }
    if (!this.covers(doc) || this.fields.length === 0) return;
    for (const k of this.keysOf(doc)) addTo(this.entries, k, docKey);
    if (this.leading) for (const k of this.fieldKeys(doc, this.fields[0])) addTo(this.leading, k, docKey);
  }

  /** Moves a document's entries from its old version to its new one, touching only what changed. */
  replace(docKey: string, oldDoc: Doc, newDoc: Doc): void {
    if (this.text) {
      const before = documentTerms(oldDoc, this.text);
      const after = documentTerms(newDoc, this.text);
      for (const t of before) if (!after.has(t)) removeFrom(this.terms, t, docKey);
      for (const t of after) if (!before.has(t)) addTo(this.terms, t, docKey);
    }
    if (this.fields.length === 0) return;
    const oldKeys = this.covers(oldDoc) ? this.keysOf(oldDoc) : [];
    const newKeys = this.covers(newDoc) ? this.keysOf(newDoc) : [];
    if (oldKeys.length === newKeys.length && oldKeys.every((k, i) => k === newKeys[i])) return;
    const newSet = new Set(newKeys);
    const oldSet = new Set(oldKeys);
    for (const k of oldKeys) if (!newSet.has(k)) removeFrom(this.entries, k, docKey);
    for (const k of newKeys) if (!oldSet.has(k)) addTo(this.entries, k, docKey);
    if (this.leading) {
      const oldLead = this.covers(oldDoc) ? this.fieldKeys(oldDoc, this.fields[0]) : [];
      const newLead = this.covers(newDoc) ? this.fieldKeys(newDoc, this.fields[0]) : [];
      const nl = new Set(newLead);
      const ol = new Set(oldLead);
      for (const k of oldLead) if (!nl.has(k)) removeFrom(this.leading, k, docKey);
      for (const k of newLead) if (!ol.has(k)) addTo(this.leading, k, docKey);
    }
  }

  remove(docKey: string, doc: Doc): void {
    if (this.text) {
      for (const t of documentTerms(doc, this.text)) removeFrom(this.terms, t, docKey);
    }
    if (!this.covers(doc) || this.fields.length === 0) return;
    for (const k of this.keysOf(doc)) removeFrom(this.entries, k, docKey);
    if (this.leading) for (const k of this.fieldKeys(doc, this.fields[0])) removeFrom(this.leading, k, docKey);
  }

  /** Document keys whose leading field equals one of the given values. */
  lookupLeading(values: unknown[]): Set<string> {
    const map = this.leading ?? this.entries;
    const out = new Set<string>();
    for (const v of values) for (const d of holders(map, keyOf(v, this.strength))) out.add(d);
    return out;
  }

  /**
   * Document keys whose leading-field key passes a test: range and prefix conditions read the
   * index's keys, never the documents (a scan of distinct keys, where MongoDB walks a B-tree).
   */
  lookupLeadingWhere(test: (key: string) => boolean): Set<string> {
    const map = this.leading ?? this.entries;
    const out = new Set<string>();
    for (const key of map.keys()) if (test(key)) for (const d of holders(map, key)) out.add(d);
    return out;
  }

  /** Document keys holding any of the terms (text indexes). */
  lookupTerms(terms: string[]): Set<string> {
    const out = new Set<string>();
    for (const t of terms) for (const d of holders(this.terms, t)) out.add(d);
    return out;
  }

  clear(): void {
    this.entries.clear();
    this.leading?.clear();
    this.terms.clear();
  }
}

/**
 * Key → the document keys holding it. Most keys (every key of a unique index) have one holder,
 * stored as the bare string; a Set is made only for the second one, which keeps 100k-entry
 * indexes small.
 */
type Postings = Map<string, string | Set<string>>;

const NONE: readonly string[] = [];

function holders(map: Postings, key: string): Iterable<string> {
  const v = map.get(key);
  if (v === undefined) return NONE;
  return typeof v === "string" ? [v] : v;
}

function addTo(map: Postings, key: string, docKey: string): void {
  const v = map.get(key);
  if (v === undefined) map.set(key, docKey);
  else if (typeof v === "string") {
    if (v !== docKey) map.set(key, new Set([v, docKey]));
  } else v.add(docKey);
}

function removeFrom(map: Postings, key: string, docKey: string): void {
  const v = map.get(key);
  if (v === undefined) return;
  if (typeof v === "string") {
    if (v === docKey) map.delete(key);
    return;
  }
  v.delete(docKey);
  if (v.size === 1) map.set(key, v.values().next().value as string);
}

/** The default index name MongoDB derives from a key pattern: `a_1_b_-1`. */
export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${String(v)}`)
    .join("_");
}
