/**
 * Collections and indexes: create, drop, dropDatabase, listCollections, createIndexes,
 * listIndexes, dropIndexes, with MongoDB's reply shapes and error codes (26, 27, 48, 85, 86).
 */
import { MongoServerError, badValue, notSupported } from "../errors.js";
import { defaultIndexName, type IndexSpec } from "../indexes.js";
import { compileFilter } from "../query.js";
import { type Doc, isPlainObject } from "../values.js";
import { type CommandHandler, collectionName, cursorReply, optionalDoc, optionalNumber } from "./context.js";

const CREATE_OPTION_FIELDS = [
  "changeStreamPreAndPostImages",
  "capped",
  "size",
  "max",
  "validator",
  "validationLevel",
  "validationAction",
  "collation",
  "timeseries",
  "expireAfterSeconds",
  "clusteredIndex",
  "viewOn",
  "pipeline",
];

/** Accepted by MongoDB, not implemented here: refused at creation rather than ignored. */
const UNSUPPORTED_CREATE_OPTIONS: [string, string][] = [
  ["capped", "a capped collection"],
  ["timeseries", "a time-series collection"],
  ["clusteredIndex", "a clustered collection"],
  ["expireAfterSeconds", "a collection-level expireAfterSeconds (clustered or time-series collections)"],
  ["collation", "a collection default collation (give the collation per index and per query)"],
];

const create: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "create");
  const options = Object.fromEntries(CREATE_OPTION_FIELDS.filter((f) => cmd[f] !== undefined).map((f) => [f, cmd[f]]));
  if (options.viewOn) throw notSupported("a view (viewOn)");
  const existing = ctx.storage.get(ctx.db, name);
  if (existing) {
    // MongoDB 7 accepts a create that repeats the existing options.
    if (JSON.stringify(existing.options) === JSON.stringify(options)) return { ok: 1 };
    throw new MongoServerError("NamespaceExists", `Collection ${ctx.db}.${name} already exists.`);
  }
  for (const [field, what] of UNSUPPORTED_CREATE_OPTIONS) if (options[field] !== undefined && options[field] !== false) throw notSupported(what);
  ctx.storage.ensure(ctx.db, name, options);
  return { ok: 1 };
};

const drop: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "drop");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", "ns not found");
  const nIndexesWas = coll.indexSpecs().length;
  ctx.storage.drop(ctx.db, name);
  ctx.changes.record({ db: ctx.db, coll: name, op: "drop", before: null, after: null });
  return { nIndexesWas, ns: coll.ns, ok: 1 };
};

const dropDatabase: CommandHandler = (_cmd, ctx) => {
  const names = ctx.storage.collections(ctx.db).map((c) => c.name);
  ctx.storage.dropDatabase(ctx.db);
  for (const coll of names) ctx.changes.record({ db: ctx.db, coll, op: "drop", before: null, after: null });
  if (names.length) ctx.changes.record({ db: ctx.db, coll: "", op: "dropDatabase", before: null, after: null });
  return { dropped: ctx.db, ok: 1 };
};

const listCollections: CommandHandler = (cmd, ctx) => {
  const filter = optionalDoc(cmd, "filter") ?? {};
  const matches = compileFilter(filter);
  const infos = ctx.storage
    .collections(ctx.db)
    .map((c) => ({
      name: c.name,
      type: "collection",
      options: c.options,
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
    }))
    .filter((info) => matches(info));
  const docs: Doc[] = cmd.nameOnly ? infos.map((i) => ({ name: i.name, type: i.type })) : infos;
  const cursor = optionalDoc(cmd, "cursor");
  return cursorReply(ctx, `${ctx.db}.$cmd.listCollections`, docs, cursor ? optionalNumber(cursor, "batchSize") : undefined);
};

const INDEX_OPTIONS = new Set([
  "key",
  "name",
  "unique",
  "sparse",
  "partialFilterExpression",
  "expireAfterSeconds",
  "collation",
  "weights",
  "default_language",
  "language_override",
  "textIndexVersion",
  "background",
  "v",
  "hidden",
  "2dsphereIndexVersion",
  "ns",
]);

function normalizeIndexSpec(raw: unknown): IndexSpec {
  if (!isPlainObject(raw) || !isPlainObject(raw.key))
    throw new MongoServerError("FailedToParse", "The 'key' field is a required property of an index specification");
  const unknown = Object.keys(raw).find((k) => !INDEX_OPTIONS.has(k));
  if (unknown) throw new MongoServerError("InvalidOptions", `The field '${unknown}' is not valid for an index specification.`);
  const key = raw.key;
  if (Object.keys(key).length === 0) throw new MongoServerError("CannotCreateIndex", "Index keys cannot be empty.");
  const name = typeof raw.name === "string" && raw.name ? raw.name : defaultIndexName(key);
  const spec: IndexSpec = { v: 2, key, name };
  for (const f of [
    "unique",
    "sparse",
    "partialFilterExpression",
    "expireAfterSeconds",
    "collation",
    "weights",
    "default_language",
    "language_override",
    "textIndexVersion",
    "hidden",
  ]) {
    if (raw[f] !== undefined && !(f === "unique" && raw[f] === false) && !(f === "sparse" && raw[f] === false)) spec[f] = raw[f];
  }
  if (spec.expireAfterSeconds !== undefined && (typeof spec.expireAfterSeconds !== "number" || spec.expireAfterSeconds < 0)) {
    throw new MongoServerError("CannotCreateIndex", "TTL index 'expireAfterSeconds' option must be a non-negative number");
  }
  if (Object.values(key).includes("text") && spec.textIndexVersion === undefined) spec.textIndexVersion = 3;
  return spec;
}

const createIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "createIndexes");
  if (!Array.isArray(cmd.indexes) || cmd.indexes.length === 0) throw badValue("Must specify at least one index to create");
  const specs = cmd.indexes.map(normalizeIndexSpec);
  const createdCollectionAutomatically = !ctx.storage.get(ctx.db, name);
  const coll = ctx.storage.ensure(ctx.db, name);
  const numIndexesBefore = coll.indexSpecs().length;
  for (const spec of specs) coll.createIndex(spec);
  const numIndexesAfter = coll.indexSpecs().length;
  const reply: Doc = { numIndexesBefore, numIndexesAfter, createdCollectionAutomatically, ok: 1 };
  if (numIndexesAfter === numIndexesBefore) reply.note = "all indexes already exist";
  return reply;
};

const listIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "listIndexes");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", `ns does not exist: ${ctx.db}.${name}`);
  const cursor = optionalDoc(cmd, "cursor");
  return cursorReply(ctx, `${ctx.db}.$cmd.listIndexes.${name}`, coll.indexSpecs(), cursor ? optionalNumber(cursor, "batchSize") : undefined);
};

const dropIndexes: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "dropIndexes");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", `ns not found ${ctx.db}.${name}`);
  const nIndexesWas = coll.indexSpecs().length;
  const which = cmd.index;
  if (which === "*") {
    for (const i of coll.indexList()) coll.dropIndex(i.name);
  } else if (typeof which === "string") {
    if (which === "_id_") throw new MongoServerError("InvalidOptions", "cannot drop _id index");
    coll.dropIndex(which);
  } else if (Array.isArray(which)) {
    for (const n of which)
      if (!coll.indexList().some((i) => i.name === n)) throw new MongoServerError("IndexNotFound", `index not found with name [${String(n)}]`);
    for (const n of which) coll.dropIndex(String(n));
  } else if (isPlainObject(which)) {
    const index = coll.findIndexByKey(which);
    if (!index) throw new MongoServerError("IndexNotFound", `can't find index with key: ${JSON.stringify(which)}`);
    coll.dropIndex(index.name);
  } else {
    throw badValue("invalid index name spec");
  }
  return { nIndexesWas, ok: 1 };
};

export const catalogCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};
