/**
 * One collection: documents keyed by their `_id`, its secondary indexes, and the read/write
 * operations the commands are made of. Stored documents are never changed in place: an update
 * works on a copy and swaps it in after every check passed, so a failed write changes nothing
 * and an open cursor keeps the version it read. Which index answers a query is the planner's
 * choice (planner.ts); this file fetches what it names and tests, sorts and pages it.
 */
import { randomUUID } from "node:crypto";
import { ObjectId, UUID } from "bson";
import { MongoServerError, badValue } from "./errors.js";
import { Index, type IndexSpec } from "./indexes.js";
import type { StorageChange } from "./storage.js";
import { type DocumentCheck, compileValidator } from "./validation.js";
import { type QueryPlan, planQuery } from "./planner.js";
import { type TextSearch, compileFilter, prepareFilter, project } from "./query.js";
import { type ApplyOptions, type UpdateSpec, applyFastUpdate, applyUpdate, upsertSeed } from "./update.js";
import { parseSearch, scoreDocument } from "./text.js";
import {
  type CollationSpec,
  type Doc,
  cloneDoc,
  collationStrength,
  compareValues,
  getPath,
  idFirst,
  isPlainObject,
  keyOf,
  sameKey,
  sortKeyOf,
  valuesEqual,
} from "./values.js";

/** What a collection needs from its storage: the change hook, and whether validation is on. */
export interface CollectionHooks {
  emit(change: StorageChange): void;
  /** False while a command runs with bypassDocumentValidation. */
  validating(): boolean;
}

const NO_HOOKS: CollectionHooks = { emit: () => {}, validating: () => true };

export interface FindOptions {
  sort?: Doc;
  skip?: number;
  limit?: number;
  projection?: Doc;
  collation?: CollationSpec | null;
}

export interface WriteOptions {
  upsert?: boolean;
  multi?: boolean;
  arrayFilters?: Doc[];
  collation?: CollationSpec | null;
  sort?: Doc;
}

export interface UpdateOutcome {
  matched: number;
  modified: number;
  upsertedId?: unknown;
  /** The first affected document before and after (findAndModify). */
  before?: Doc;
  after?: Doc;
}

/** One applied document write, as the change log and transaction views observe it. */
export interface WriteChange {
  op: "insert" | "update" | "replace" | "delete";
  before: Doc | null;
  after: Doc | null;
}

/** The sort path standing for `{ $meta: "textScore" }`: no stored field can have this name. */
const TEXT_SCORE = "\u0000textScore";

export class Collection {
  readonly uuid = new UUID(randomUUID());
  readonly createdAt = new Date();
  options: Doc;
  private readonly docs = new Map<string, Doc>();
  private readonly indexes = new Map<string, Index>();
  /**
   * Told of every document write after it was applied (insert, update/replace, delete, TTL):
   * the one narrow point the change log and transaction views hook into. May throw (a
   * transaction's write conflict); the write is then already applied to this collection.
   */
  observer?: (change: WriteChange) => void;

  private validator: DocumentCheck | null;

  /** `hooks.emit` reports each applied change to the storage's listeners (journal, change streams). */
  constructor(
    public db: string,
    public name: string,
    options: Doc = {},
    private readonly hooks: CollectionHooks = NO_HOOKS,
  ) {
    this.validator = compileValidator(options, () => this.ns);
    this.options = options;
  }

  private emit(change: StorageChange): void {
    this.hooks.emit(change);
  }

  /** Enforces the validator (if any) on a document about to be stored. */
  private validate(doc: Doc, before: Doc | undefined): void {
    if (this.validator && this.hooks.validating()) this.validator(doc, before);
  }

  /** Called by Storage.rename only: the collection keeps its documents and indexes. */
  moveTo(db: string, name: string): void {
    this.db = db;
    this.name = name;
  }

  /** Replaces the collection options (collMod); reported so the journal keeps them. */
  setOptions(options: Doc): void {
    this.validator = compileValidator(options, () => this.ns);
    this.options = options;
    this.emit({ op: "options", db: this.db, coll: this.name, options });
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.docs.size;
  }

  /** The stored document with this document key (`keyOf(_id)`); callers must not change it. */
  getByKey(docKey: string): Doc | undefined {
    return this.docs.get(docKey);
  }

  /** All documents in natural (insertion) order; callers must not change them. */
  all(): Doc[] {
    return [...this.docs.values()];
  }

  // ---------------------------------------------------------------- indexes

  indexSpecs(): IndexSpec[] {
    return [{ v: 2, key: { _id: 1 }, name: "_id_" }, ...[...this.indexes.values()].map((i) => i.spec)];
  }

  indexList(): Index[] {
    return [...this.indexes.values()];
  }

  /** Creates an index; returns false when an identical one exists. Builds over existing documents. */
  createIndex(spec: IndexSpec): boolean {
    if (spec.name === "_id_" || keyOf(spec.key) === keyOf({ _id: 1 })) {
      if (spec.name !== "_id_" && spec.name !== undefined) {
        throw new MongoServerError("IndexOptionsConflict", `Index with name: ${spec.name} already exists with a different name`);
      }
      return false;
    }
    const byName = this.indexes.get(spec.name);
    if (byName) {
      if (!byName.sameKey(spec.key)) {
        throw new MongoServerError(
          "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      if (!byName.sameOptions(spec)) {
        throw new MongoServerError(
          "IndexOptionsConflict",
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      return false;
    }
    for (const other of this.indexes.values()) {
      if (
        other.sameKey(spec.key) &&
        keyOf(other.spec.collation ?? null) === keyOf(spec.collation ?? null) &&
        keyOf(other.spec.partialFilterExpression ?? null) === keyOf(spec.partialFilterExpression ?? null)
      ) {
        throw new MongoServerError("IndexOptionsConflict", `Index already exists with a different name: ${other.name}`);
      }
      if (other.text && Object.values(spec.key).includes("text")) {
        throw new MongoServerError(
          "IndexOptionsConflict",
          `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(other.spec)}`,
        );
      }
    }
    const index = new Index(spec);
    for (const [k, doc] of this.docs) {
      const c = index.conflict(k, doc);
      if (c) {
        index.clear();
        throw index.duplicateError(this.ns, doc);
      }
      index.add(k, doc);
    }
    this.indexes.set(spec.name, index);
    this.emit({ op: "createIndex", db: this.db, coll: this.name, spec });
    return true;
  }

  dropIndex(name: string): void {
    if (!this.indexes.delete(name)) throw new MongoServerError("IndexNotFound", `index not found with name [${name}]`);
    this.emit({ op: "dropIndex", db: this.db, coll: this.name, name });
  }

  findIndexByKey(key: Doc): Index | undefined {
    return [...this.indexes.values()].find((i) => i.sameKey(key));
  }

  // ---------------------------------------------------------------- writes

  /** Protected: a transaction's view (txn-view.ts) first pulls in the real documents holding the same keys. */
  protected checkUnique(docKey: string, doc: Doc): void {
    for (const index of this.indexes.values()) {
      if (index.conflict(docKey, doc)) throw index.duplicateError(this.ns, doc);
    }
  }

  private store(docKey: string, doc: Doc): void {
    this.docs.set(docKey, doc);
    for (const index of this.indexes.values()) index.add(docKey, doc);
    this.emit({ op: "insert", db: this.db, coll: this.name, doc });
  }

  private unstore(docKey: string, doc: Doc): void {
    this.docs.delete(docKey);
    for (const index of this.indexes.values()) index.remove(docKey, doc);
    this.emit({ op: "delete", db: this.db, coll: this.name, doc });
    this.observer?.({ op: "delete", before: doc, after: null });
  }

  /**
   * Recovery only: puts a document as the journal recorded it (insert, or replace by `_id`),
   * with the index upkeep of a normal write. The data was checked when first written.
   */
  restorePut(doc: Doc): void {
    const docKey = keyOf(doc._id);
    const old = this.docs.get(docKey);
    if (!old) {
      this.store(docKey, doc);
      return;
    }
    this.docs.set(docKey, doc);
    for (const index of this.indexes.values()) index.replace(docKey, old, doc);
  }

  /** Recovery only: removes a document by `_id` if present. */
  restoreDelete(id: unknown): void {
    const docKey = keyOf(id);
    const old = this.docs.get(docKey);
    if (old) this.unstore(docKey, old);
  }

  /** Inserts one document (the caller's object becomes stored; pass a copy you do not keep). */
  insert(input: Doc): Doc {
    const doc = idFirst("_id" in input ? input : { _id: new ObjectId(), ...input });
    validateForStorage(doc);
    const docKey = keyOf(doc._id);
    this.validate(doc, undefined);
    if (this.docs.has(docKey)) {
      throw new MongoServerError("DuplicateKey", `E11000 duplicate key error collection: ${this.ns} index: _id_ dup key: { _id: ${JSON.stringify(doc._id)} }`, {
        keyPattern: { _id: 1 },
        keyValue: { _id: doc._id },
      });
    }
    this.checkUnique(docKey, doc);
    this.store(docKey, doc);
    this.observer?.({ op: "insert", before: null, after: doc });
    return doc;
  }

  /** Replaces a stored document by a changed copy, after the `_id` and unique checks. */
  private swap(oldDoc: Doc, newDoc: Doc): Doc {
    const docKey = keyOf(oldDoc._id);
    if (!valuesEqual(oldDoc._id, newDoc._id)) {
      throw new MongoServerError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    const stored = idFirst(newDoc);
    validateForStorage(stored);
    this.validate(stored, oldDoc);
    this.checkUnique(docKey, stored);
    this.docs.set(docKey, stored);
    // Postings hold document keys, not documents: an index whose keys did not change needs no work.
    for (const index of this.indexes.values()) index.replace(docKey, oldDoc, stored);
    this.emit({ op: "update", db: this.db, coll: this.name, before: oldDoc, after: stored });
    return stored;
  }

  /**
   * A transaction's commit: `next` (the transaction's final version, which the caller gives up)
   * replaces `current`, with the checks and upkeep of any update — `_id`, storage rules,
   * validator, unique indexes, index keys, the change event. Applying a diff of the two through
   * the update machinery instead copied and compared the whole document twice more.
   */
  install(current: Doc, next: Doc, op: "update" | "replace"): Doc {
    const stored = this.swap(current, next);
    this.observer?.({ op, before: current, after: stored });
    return stored;
  }

  /** Updates the first or every matching document, or upserts. */
  update(filter: Doc, spec: UpdateSpec, opts: WriteOptions): UpdateOutcome {
    const prepared = prepareFilter(filter);
    let targets = this.query(filter, { collation: opts.collation, sort: opts.sort, limit: opts.multi ? 0 : 1 }).docs;
    if (!opts.multi) targets = targets.slice(0, 1);
    if (targets.length === 0) {
      if (!opts.upsert) return { matched: 0, modified: 0 };
      return this.upsert(prepared.filter, spec, opts);
    }
    const applyOpts: ApplyOptions = { condition: prepared.filter, arrayFilters: opts.arrayFilters, collation: opts.collation, inserting: false };
    let modified = 0;
    let before: Doc | undefined;
    let after: Doc | undefined;
    for (const doc of targets) {
      let next: Doc;
      let changed: boolean;
      if (spec.kind === "replacement") {
        if ("_id" in spec.doc && !valuesEqual(spec.doc._id, doc._id)) {
          throw new MongoServerError(
            "ImmutableField",
            `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(spec.doc._id)}`,
          );
        }
        next = { _id: doc._id, ...cloneDoc(spec.doc) };
        changed = !sameKey(next, doc);
      } else {
        // A pipeline the fast path takes needs only a shallow copy (see applyFastUpdate): no
        // copy of a 1,024-element array per send; mingo gets a deep copy.
        next = { ...doc };
        const fast = applyFastUpdate(next, spec, applyOpts);
        if (fast !== null) changed = fast;
        else {
          next = cloneDoc(doc);
          // mingo reports a no-op ($set to the same value) as unmodified.
          changed = applyUpdate(next, spec, { ...applyOpts, fastTried: spec.kind === "pipeline" });
        }
      }
      let stored = doc;
      if (changed) {
        stored = this.swap(doc, next);
        modified++;
        this.observer?.({ op: spec.kind === "replacement" ? "replace" : "update", before: doc, after: stored });
      }
      if (!before) {
        before = doc;
        after = stored;
      }
    }
    return { matched: targets.length, modified, before, after };
  }

  private upsert(filter: Doc, spec: UpdateSpec, opts: WriteOptions): UpdateOutcome {
    let doc: Doc;
    if (spec.kind === "replacement") {
      const seed = upsertSeed(filter);
      doc = { ...cloneDoc(spec.doc) };
      if (!("_id" in doc) && "_id" in seed) doc = { _id: seed._id, ...doc };
    } else {
      doc = cloneDoc(upsertSeed(filter));
      applyUpdate(doc, spec, { condition: {}, arrayFilters: opts.arrayFilters, collation: opts.collation, inserting: true });
      const seedId = upsertSeed(filter)._id;
      if (seedId !== undefined && "_id" in doc && !valuesEqual(seedId, doc._id)) {
        throw new MongoServerError("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
      }
    }
    const stored = this.insert(doc);
    return { matched: 0, modified: 0, upsertedId: stored._id, after: stored };
  }

  /** Deletes the first (limit 1) or every matching document; returns the deleted ones. */
  delete(filter: Doc, opts: { limit?: number; collation?: CollationSpec | null; sort?: Doc }): Doc[] {
    const { docs } = this.query(filter, { collation: opts.collation, sort: opts.sort, limit: opts.limit === 1 ? 1 : 0 });
    for (const doc of docs) this.unstore(keyOf(doc._id), doc);
    return docs;
  }

  /** Removes every document whose TTL-indexed date is older than the index allows. */
  sweepExpired(now: number): number {
    let removed = 0;
    for (const index of this.indexes.values()) {
      if (index.expireAfterSeconds === null || index.fields.length !== 1) continue;
      const limit = now - index.expireAfterSeconds * 1000;
      for (const [k, doc] of [...this.docs]) {
        const v = getPath(doc, index.fields[0]);
        const dates = (Array.isArray(v) ? v : [v]).filter((d): d is Date => d instanceof Date);
        if (dates.length && Math.min(...dates.map((d) => d.getTime())) <= limit) {
          this.unstore(k, doc);
          removed++;
        }
      }
    }
    return removed;
  }

  // ---------------------------------------------------------------- reads

  /** The documents worth testing for a filter, by the planner's access path (planner.ts). */
  private candidates(
    filter: Doc,
    text: TextSearch | null,
    collation: CollationSpec | null | undefined,
  ): { docs: Iterable<Doc>; plan: QueryPlan; scores?: Map<Doc, number> } {
    const path = planQuery(this.indexes, filter, text, collation);
    switch (path.stage) {
      case "TEXT": {
        const { index, search } = path;
        const q = parseSearch(search.search, search.caseSensitive, search.diacriticSensitive);
        const keys = index.lookupTerms(q.terms.length ? q.terms : []);
        const scores = new Map<Doc, number>();
        for (const k of keys) {
          const doc = this.docs.get(k);
          if (!doc) continue;
          const s = scoreDocument(doc, index.text!, q, search.caseSensitive, search.diacriticSensitive);
          if (s > 0) scores.set(doc, s);
        }
        return { docs: scores.keys(), scores, plan: { stage: "TEXT", indexName: index.name, keysExamined: keys.size, docsExamined: keys.size } };
      }
      case "IDHACK": {
        const docs = path.ids.map((v) => this.docs.get(keyOf(v))).filter((d): d is Doc => d !== undefined);
        return { docs, plan: { stage: "IDHACK", indexName: "_id_", keysExamined: path.ids.length, docsExamined: docs.length } };
      }
      case "IXSCAN": {
        const docs = [...path.keys].map((k) => this.docs.get(k)).filter((d): d is Doc => d !== undefined);
        return { docs, plan: { stage: "IXSCAN", indexName: path.index.name, keysExamined: path.keys.size, docsExamined: docs.length } };
      }
      case "COLLSCAN":
        return { docs: this.docs.values(), plan: { stage: "COLLSCAN", keysExamined: 0, docsExamined: this.docs.size } };
    }
  }

  /**
   * Runs a query: candidates → filter → sort → skip/limit → projection. Returned documents are
   * the stored objects unless projected; callers serialize them (the wire is the copy).
   */
  query(filter: unknown, opts: FindOptions = {}): { docs: Doc[]; plan: QueryPlan } {
    const prepared = prepareFilter(filter);
    const matches = compileFilter(prepared.filter, opts.collation);
    const { docs: source, plan, scores } = this.candidates(prepared.filter, prepared.text, opts.collation);
    const wantsScore = (spec: Doc | undefined): string[] =>
      Object.entries(spec ?? {})
        .filter(([, v]) => isPlainObject(v) && v.$meta === "textScore")
        .map(([k]) => k);
    const sortScore = wantsScore(opts.sort);
    const projScore = wantsScore(opts.projection);
    if ((sortScore.length || projScore.length) && !scores) {
      throw badValue("query requires text score metadata, but it is not available");
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const skip = opts.skip && opts.skip > 0 ? opts.skip : 0;
    const sort = opts.sort && Object.keys(opts.sort).length ? opts.sort : null;
    let out: Doc[] = [];
    for (const doc of source) {
      if (!matches(doc)) continue;
      out.push(doc);
      // Without a sort, stop as soon as the page is full.
      if (!sort && limit && out.length >= skip + limit) break;
    }
    if (sort) out = this.sorted(out, sort, opts.collation, scores);
    if (skip) out = out.slice(skip);
    if (limit) out = out.slice(0, limit);
    if (opts.projection && Object.keys(opts.projection).length) {
      const rest = Object.fromEntries(Object.entries(opts.projection).filter(([k]) => !projScore.includes(k)));
      const projected = Object.keys(rest).length ? project(out, rest, prepared.filter, opts.collation) : out;
      out = projScore.length ? projected.map((d, i) => ({ ...d, ...Object.fromEntries(projScore.map((k) => [k, scores!.get(out[i]) ?? 0])) })) : projected;
    }
    return { docs: out, plan };
  }

  private sorted(docs: Doc[], sort: Doc, collation: CollationSpec | null | undefined, scores?: Map<Doc, number>): Doc[] {
    const strength = collationStrength(collation);
    const keys = Object.entries(sort).map(([path, dir]) => {
      if (isPlainObject(dir) && dir.$meta === "textScore") return { path: TEXT_SCORE, dir: -1 as const };
      if (dir !== 1 && dir !== -1) throw badValue(`$sort key ordering must be 1 (for ascending) or -1 (for descending)`);
      return { path, dir: dir as 1 | -1 };
    });
    const decorated = docs.map((doc, i) => ({
      doc,
      i,
      k: keys.map(({ path, dir }) => (path === TEXT_SCORE ? (scores?.get(doc) ?? 0) : sortKeyOf(doc, path, dir, strength))),
    }));
    decorated.sort((a, b) => {
      for (let j = 0; j < keys.length; j++) {
        const c = compareValues(a.k[j], b.k[j], strength);
        if (c) return c * keys[j].dir;
      }
      return a.i - b.i;
    });
    return decorated.map((d) => d.doc);
  }

  /** Removes every document (drop keeps the collection object out of the catalog instead). */
  clear(): void {
    this.docs.clear();
    for (const index of this.indexes.values()) index.clear();
    this.emit({ op: "truncate", db: this.db, coll: this.name });
  }
}

/** Rejects what MongoDB refuses to store: arrays or regexes as `_id`, `$`-prefixed top-level fields. */
function validateForStorage(doc: Doc): void {
  if (Array.isArray(doc._id)) throw badValue("The '_id' value cannot be of type array");
  if (doc._id instanceof RegExp) throw badValue("can't use a regex for _id");
  if (doc._id === undefined) throw badValue("_id cannot be undefined");
  for (const k of Object.keys(doc)) {
    if (k.startsWith("$")) throw new MongoServerError("BadValue", `Document can't have $ prefixed field names: ${k}`);
  }
}
