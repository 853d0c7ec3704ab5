/**
 * A transaction's view of one collection, filled on demand. Copying the whole collection (and
 * rebuilding its indexes, text included) when a transaction first touches it made every
 * transaction cost O(collection size); the view instead starts with only what changed since
 * the snapshot and pulls in, from the real collection, the documents an operation may see:
 *
 * - `known` holds every document key whose state as of the snapshot (or after the
 *   transaction's own writes) the view already has: present here, or deliberately absent.
 * - Before each read it first catches up with the change log: a document written outside
 *   since the last catch-up that the view does not know yet is fixed at its first `before`
 *   image (its snapshot version; absent if it was inserted). Every other document of the
 *   real collection is unchanged since the snapshot, so it can be taken from there as is.
 * - A filter pulls in the real documents matching it (by the real collection's indexes);
 *   an `_id` equality pulls in just those ids; a unique check pulls in the real holders of
 *   the same keys, so a duplicate is still E11000 inside the transaction.
 * - Whatever cannot be bounded (`all()`, `size`, an empty filter: aggregates without a
 *   leading $match, $lookup) pulls in everything once, as the old full copy did.
 *
 * Writes, conflict detection and commit are unchanged: they go through Collection and the
 * observer SessionTable installs.
 */
import type { ChangeLog } from "./changes.js";
import { Collection, type FindOptions } from "./collection.js";
import { transientError } from "./errors.js";
import { idLookup } from "./planner.js";
import { prepareFilter } from "./query.js";
import { type Doc, isPlainObject, keyOf } from "./values.js";

export class ViewCollection extends Collection {
  private readonly known = new Set<string>();
  /** Change log position the view has caught up to. */
  private synced: number;
  /** Every document of the real collection has been pulled in: nothing more to fetch. */
  private complete: boolean;

  constructor(
    db: string,
    name: string,
    options: Doc,
    /** The real collection as the snapshot's catalog had it when the view was made (undefined: none). */
    private readonly real: Collection | undefined,
    /** The catalog's current collection of this namespace. */
    private readonly current: () => Collection | undefined,
    private readonly changes: ChangeLog,
    startSeq: number,
  ) {
    super(db, name, options);
    this.synced = startSeq;
    this.complete = !real;
    if (real) for (const spec of real.indexSpecs().slice(1)) this.createIndex(spec);
    this.catchUp();
  }

  /** Fixes documents written outside since the last catch-up at their snapshot versions. */
  private catchUp(): void {
    if (this.changes.seq <= this.synced) return;
    if (this.changes.oldestSeq > this.synced + 1) {
      throw transientError("SnapshotTooOld", "Read timestamp is older than the oldest available history");
    }
    for (const e of this.changes.since(this.synced)) {
      if (e.db !== this.db || e.coll !== this.name) continue;
      const id = (e.after ?? e.before)?._id;
      if (id === undefined) continue;
      const k = keyOf(id);
      if (this.known.has(k)) continue;
      this.known.add(k);
      if (e.before) this.restorePut(e.before);
    }
    this.synced = this.changes.seq;
  }

  /** The real collection to pull from, or an error when the catalog changed under the view. */
  private source(): Collection {
    if (this.current() !== this.real) {
      throw transientError("SnapshotUnavailable", "Unable to read from a snapshot due to pending collection catalog changes; please retry the operation.");
    }
    return this.real!;
  }

  private adopt(k: string, doc: Doc | undefined): void {
    this.known.add(k);
    // Real documents are never changed in place: the view can share them, as the full copy did.
    if (doc) this.restorePut(doc);
  }

  /** Pulls in what a filter may match. */
  private pullFor(filter: unknown, collation: FindOptions["collation"]): void {
    if (this.complete) return;
    this.catchUp();
    const f = isPlainObject(filter) ? filter : null;
    if (f) {
      // The same `_id` equality the planner answers from the `_id` map (planner.ts).
      const ids = idLookup(f, collation);
      if (ids) {
        const missing = ids.map((v) => keyOf(v)).filter((k) => !this.known.has(k));
        if (missing.length === 0) return;
        const real = this.source();
        for (const k of missing) this.adopt(k, real.getByKey(k));
        return;
      }
    }
    const real = this.source();
    const prepared = prepareFilter(filter);
    for (const doc of real.query(filter, { collation }).docs) {
      const k = keyOf(doc._id);
      if (!this.known.has(k)) this.adopt(k, doc);
    }
    if (Object.keys(prepared.filter).length === 0 && !prepared.text) this.complete = true;
  }

  private pullAll(): void {
    if (this.complete) return;
    this.pullFor({}, null);
  }

  override query(filter: unknown, opts: FindOptions = {}): ReturnType<Collection["query"]> {
    this.pullFor(filter, opts.collation);
    return super.query(filter, opts);
  }

  override insert(input: Doc): Doc {
    const id = input._id;
    if (!this.complete && id !== undefined && !Array.isArray(id) && !(id instanceof RegExp)) this.pullFor({ _id: id }, null);
    const doc = super.insert(input);
    this.known.add(keyOf(doc._id));
    return doc;
  }

  /** Before a unique check (insert, update, upsert): the real holders of the same keys. */
  protected override checkUnique(docKey: string, doc: Doc): void {
    if (!this.complete) {
      this.catchUp();
      const real = this.source();
      for (const index of real.indexList()) {
        if (!index.unique) continue;
        let holders: Set<string>;
        try {
          holders = index.holdersOf(doc);
        } catch {
          continue; // A key the document cannot have (parallel arrays): the view's own index says so.
        }
        for (const k of holders) if (!this.known.has(k)) this.adopt(k, real.getByKey(k));
      }
    }
    super.checkUnique(docKey, doc);
  }

  override get size(): number {
    this.pullAll();
    return super.size;
  }

  override all(): Doc[] {
    this.pullAll();
    return super.all();
  }

  override clear(): void {
    this.pullAll();
    super.clear();
  }
}
