/**
 * Plain objects for reads. Hydrating a mongoose document costs far more than the driver's read
 * of it (bench:http's CPU profile: hydration and the garbage it leaves were the API's top costs
 * on the history page and the conversation list), and a resolver only reads fields. So reads
 * that only hand entities to resolvers use `.lean()` and pass the result through `asEntities`,
 * which gives the plain object what the resolvers relied on from a document:
 *   - the schema's defaults where a field is absent (a user written before `settings` existed
 *     still reads `notifications_enabled: true`), nested and in arrays of subdocuments alike,
 *     as hydration applies them;
 *   - `id`, the hex string of `_id` (mongoose's virtual, which the Node `id` field reads).
 * Nothing else differs: no getters or other virtuals are declared on the entities.
 *
 * The hottest of these reads (loaders, history pages) go to the driver's collection itself
 * (`findEntities`): mongoose's query layer (a Query object, filter casting and sanitising, option
 * merging) cost about 1 ms per history page in bench:http's profile, as much as the reads it
 * wrapped. Their filters are the server's own, already in stored types (ObjectId, Date), so
 * there is nothing to cast or sanitise; no transaction ever spans them.
 */
import type mongoose from "mongoose";
import type { mongo } from "mongoose";

/** An entity as reads hand it out: its stored fields (defaults applied) and `id`. A hydrated document is one too. */
export type Entity<T> = T & { id: string };

interface Plan {
  /** Absent fields and how to make their default (a fresh value each time: no shared arrays or objects). */
  defaults: Array<[path: string[], make: () => unknown]>;
  /** Single nested subdocuments: their own defaults apply inside. */
  nested: Array<[path: string[], plan: Plan]>;
  /** Arrays of subdocuments: their defaults apply to every element. */
  arrays: Array<[path: string[], plan: Plan]>;
}

interface SchemaTypeLike {
  path: string;
  options: { default?: unknown };
  defaultValue?: unknown;
  schema?: mongoose.Schema;
  $isSingleNested?: boolean;
  $isMongooseDocumentArray?: boolean;
  $isMongooseArray?: boolean;
}

const plans = new WeakMap<mongoose.Schema, Plan>();

function planOf(schema: mongoose.Schema): Plan {
  let plan = plans.get(schema);
  if (plan) return plan;
  plan = { defaults: [], nested: [], arrays: [] };
  for (const type of Object.values(schema.paths) as unknown as SchemaTypeLike[]) {
    const path = type.path.split(".");
    if (path[0] === "_id") continue;
    const declared = "default" in type.options;
    const value = type.options.default;
    if (type.$isMongooseArray || type.$isMongooseDocumentArray) {
      // Mongoose gives an absent array `[]` unless the schema says `default: undefined`.
      if (!declared) plan.defaults.push([path, () => []]);
      else if (value !== undefined) plan.defaults.push([path, () => (typeof value === "function" ? (value as () => unknown)() : structuredClone(value))]);
      if (type.$isMongooseDocumentArray && type.schema) plan.arrays.push([path, planOf(type.schema)]);
      continue;
    }
    if (declared && value !== undefined) {
      plan.defaults.push([
        path,
        () => (typeof value === "function" ? (value as () => unknown)() : value !== null && typeof value === "object" ? structuredClone(value) : value),
      ]);
    }
    if (type.$isSingleNested && type.schema) plan.nested.push([path, planOf(type.schema)]);
  }
  plans.set(schema, plan);
  return plan;
}

function get(obj: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function setIfAbsent(obj: Record<string, unknown>, path: string[], make: () => unknown): void {
  let at = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = at[path[i]];
    if (next === null) return; // a nested object stored as null stays null
    if (next === undefined) at[path[i]] = {};
    at = at[path[i]] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (at[last] === undefined) at[last] = make();
}

function applyPlan(plan: Plan, obj: Record<string, unknown>): void {
  for (const [path, make] of plan.defaults) setIfAbsent(obj, path, make);
  for (const [path, sub] of plan.nested) {
    const v = get(obj, path);
    if (v && typeof v === "object") applyPlan(sub, v as Record<string, unknown>);
  }
  for (const [path, sub] of plan.arrays) {
    const v = get(obj, path);
    if (Array.isArray(v)) for (const el of v) if (el && typeof el === "object") applyPlan(sub, el as Record<string, unknown>);
  }
}

/**
 * Lean documents of `model` as entities, in place: defaults filled in and `id` set. Meant for
 * whole documents: a field a projection left out would read as its default (hydration skips it).
 */
export function asEntities<T>(model: mongoose.Model<T>, docs: readonly object[]): Array<Entity<T>> {
  const plan = planOf(model.schema);
  for (const doc of docs) {
    const d = doc as Record<string, unknown> & { _id?: { toHexString?(): string } };
    applyPlan(plan, d);
    if (d.id === undefined && d._id) d.id = typeof d._id.toHexString === "function" ? d._id.toHexString() : String(d._id);
  }
  return docs as Array<Entity<T>>;
}

export function asEntity<T>(model: mongoose.Model<T>, doc: object | null): Entity<T> | null {
  return doc ? asEntities(model, [doc])[0] : null;
}

type ModelLike = Pick<mongoose.Model<unknown>, "db" | "collection">;
const collections = new WeakMap<ModelLike, mongo.Collection>();

/** The driver's collection behind a model (same connection, same database). */
export function driverCollection(model: ModelLike): mongo.Collection {
  let col = collections.get(model);
  if (!col) {
    col = model.db.db!.collection(model.collection.collectionName);
    collections.set(model, col);
  }
  return col;
}

/** A find through the driver, as entities. `filter` must hold stored types (ObjectId, not hex strings). */
export async function findEntities<T>(model: mongoose.Model<T>, filter: mongo.Filter<mongo.Document>, options?: mongo.FindOptions): Promise<Array<Entity<T>>> {
  const docs = await driverCollection(model).find(filter, options).toArray();
  return asEntities(model, docs);
}

/**
 * Inserts through the driver the documents `model.insertMany` would store: the schema's defaults
 * (as `asEntities` applies them), its timestamps and version key, no `undefined` fields. For
 * writes whose fields the server composed itself, already in stored types and checked by its
 * services (a message's draft): mongoose built, cast and validated a Document per message, a
 * third of a send's own CPU in an API process (bench:load's profile). The database's validator
 * (the storage schema) still checks every document. Returns them as entities.
 */
export async function insertEntities<T>(
  model: mongoose.Model<T>,
  docs: Array<Record<string, unknown>>,
  options: mongo.BulkWriteOptions = {},
): Promise<Array<Entity<T>>> {
  const plan = planOf(model.schema);
  const timestamps = timestampFields(model.schema);
  const versionKey = model.schema.get("versionKey") as string | false | undefined;
  const now = new Date();
  for (const doc of docs) {
    for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
    applyPlan(plan, doc);
    for (const field of timestamps) doc[field] ??= now;
    if (versionKey) doc[versionKey] ??= 0;
  }
  await driverCollection(model).insertMany(docs, { ordered: true, ...options });
  return asEntities(model, docs);
}

function timestampFields(schema: mongoose.Schema): string[] {
  const ts = schema.get("timestamps") as boolean | { createdAt?: string | boolean; updatedAt?: string | boolean } | undefined;
  if (!ts) return [];
  if (ts === true) return ["createdAt", "updatedAt"];
  const name = (v: string | boolean | undefined, fallback: string) => (v === false ? null : typeof v === "string" ? v : fallback);
  return [name(ts.createdAt, "createdAt"), name(ts.updatedAt, "updatedAt")].filter((f): f is string => f !== null);
}
