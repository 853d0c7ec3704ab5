/**
 * Commands that tools (mongosh, Compass, monitoring) send rather than applications:
 * renameCollection, collMod, dbStats, collStats, replSetGetStatus/Config, currentOp, killOp,
 * getParameter/setParameter.
 */
import { Long, Timestamp, calculateObjectSize } from "bson";
import type { Collection } from "../collection.js";
import type { QueryPlan } from "../planner.js";
import { MongoServerError, badValue, failedToParse, notSupported } from "../errors.js";
import { compileFilter, runPipeline } from "../query.js";
import type { Index, IndexSpec } from "../indexes.js";
import { compileValidator } from "../validation.js";
import { type Doc, isPlainObject } from "../values.js";
import { type CommandContext, type CommandHandler, collectionName } from "./context.js";

function splitNs(ns: unknown, field: string): { db: string; coll: string } {
  if (typeof ns !== "string" || !ns.includes(".")) throw new MongoServerError("InvalidNamespace", `Invalid namespace specified for '${field}': ${String(ns)}`);
  const i = ns.indexOf(".");
  return { db: ns.slice(0, i), coll: ns.slice(i + 1) };
}

const renameCollection: CommandHandler = (cmd, ctx) => {
  const from = splitNs(cmd.renameCollection, "renameCollection");
  const to = splitNs(cmd.to, "to");
  if (!ctx.storage.get(from.db, from.coll))
    throw new MongoServerError("NamespaceNotFound", "Source collection " + `${from.db}.${from.coll}` + " does not exist");
  if (from.db === to.db && from.coll === to.coll) throw new MongoServerError("IllegalOperation", "Can't rename a collection to itself");
  if (ctx.storage.get(to.db, to.coll)) {
    if (cmd.dropTarget !== true) throw new MongoServerError("NamespaceExists", "target namespace exists");
    ctx.storage.drop(to.db, to.coll);
    ctx.changes.record({ db: to.db, coll: to.coll, op: "drop", before: null, after: null });
  }
  ctx.storage.rename(from.db, from.coll, to.coll, to.db);
  // Change streams see the rename (the collection object itself moved with storage.rename).
  ctx.changes.record({ db: from.db, coll: from.coll, op: "rename", before: null, after: null, to: { db: to.db, coll: to.coll } });
  return { ok: 1 };
};

const COLLMOD_FIELDS = new Set([
  "collMod",
  "changeStreamPreAndPostImages",
  "validator",
  "validationLevel",
  "validationAction",
  "index",
  "writeConcern",
  "comment",
  "$db",
  "lsid",
  "$clusterTime",
  "$readPreference",
  "txnNumber",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
]);

/** collMod: validator, validationLevel, validationAction, and an index's TTL or hidden flag. */
const collMod: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "collMod");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", `ns does not exist: ${ctx.db}.${name}`);
  for (const k of Object.keys(cmd)) if (!COLLMOD_FIELDS.has(k)) throw notSupported(`collMod option '${k}'`);
  const reply: Doc = {};
  // Everything is checked before anything changes: a bad option changes nothing.
  let index: Index | undefined;
  let spec: IndexSpec | undefined;
  if (cmd.index !== undefined) {
    const req = cmd.index;
    if (!isPlainObject(req)) throw badValue("collMod 'index' must be an object");
    index = isPlainObject(req.keyPattern)
      ? coll.findIndexByKey(req.keyPattern)
      : typeof req.name === "string"
        ? coll.indexList().find((i) => i.name === req.name)
        : undefined;
    if (!index) throw new MongoServerError("IndexNotFound", `cannot find index ${JSON.stringify(req.keyPattern ?? req.name)} for ns ${ctx.db}.${name}`);
    spec = { ...index.spec };
    if (req.expireAfterSeconds !== undefined) {
      const secs = Number(req.expireAfterSeconds);
      if (!Number.isFinite(secs) || secs < 0) throw badValue("expireAfterSeconds must be a non-negative number");
      if (index.expireAfterSeconds === null) throw new MongoServerError("InvalidOptions", "no expireAfterSeconds field to update");
      reply.expireAfterSeconds_old = index.expireAfterSeconds;
      reply.expireAfterSeconds_new = secs;
      spec.expireAfterSeconds = secs;
    }
    if (req.hidden !== undefined) {
      if (typeof req.hidden !== "boolean") throw badValue("hidden must be a boolean");
      reply.hidden_old = index.spec.hidden === true;
      reply.hidden_new = req.hidden;
      if (req.hidden) spec.hidden = true;
      else delete spec.hidden;
    }
  }
  const options = { ...coll.options };
  const OPTIONS = ["validator", "validationLevel", "validationAction", "changeStreamPreAndPostImages"];
  for (const k of OPTIONS) if (cmd[k] !== undefined) options[k] = cmd[k];
  const optionsChanged = OPTIONS.some((k) => cmd[k] !== undefined);
  if (optionsChanged) compileValidator(options, () => coll.ns);
  ctx.storage.atomically(() => {
    if (optionsChanged) coll.setOptions(options);
    if (index && spec) {
      coll.dropIndex(index.name);
      coll.createIndex(spec);
    }
  });
  return { ...reply, ok: 1 };
};

// ------------------------------------------------------------------ statistics

function docBytes(docs: Doc[]): number {
  let n = 0;
  for (const d of docs) n += calculateObjectSize(d, { ignoreUndefined: true });
  return n;
}

/** Sizes as MongoDB reports them, from the BSON size of the documents (no compression here). */
function collectionStats(coll: Collection, scale: number): Doc {
  const size = docBytes(coll.all());
  const indexSizes: Doc = {};
  // Index entries ≈ one key and one document key each; an estimate, as tools only display it.
  for (const spec of coll.indexSpecs()) indexSizes[spec.name] = Math.floor((coll.size * 32) / scale);
  const totalIndexSize = Object.values(indexSizes).reduce((a: number, b) => a + (b as number), 0);
  return {
    size: Math.floor(size / scale),
    count: coll.size,
    avgObjSize: coll.size ? Math.floor(size / coll.size) : 0,
    storageSize: Math.floor(size / scale),
    freeStorageSize: 0,
    capped: false,
    nindexes: coll.indexSpecs().length,
    indexBuilds: [],
    totalIndexSize,
    totalSize: Math.floor(size / scale) + totalIndexSize,
    indexSizes,
    scaleFactor: scale,
  };
}

function scaleOf(v: unknown): number {
  if (v === undefined || v === null) return 1;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1) throw badValue("Scale factor must be a positive number");
  return Math.floor(n);
}

const dbStats: CommandHandler = (cmd, ctx) => {
  const scale = scaleOf(cmd.scale);
  const colls = ctx.storage.collections(ctx.db);
  let objects = 0;
  let dataSize = 0;
  let indexes = 0;
  let indexSize = 0;
  for (const c of colls) {
    const s = collectionStats(c, 1);
    objects += s.count as number;
    dataSize += s.size as number;
    indexes += s.nindexes as number;
    indexSize += s.totalIndexSize as number;
  }
  return {
    db: ctx.db,
    collections: colls.length,
    views: 0,
    objects,
    avgObjSize: objects ? dataSize / objects : 0,
    dataSize: Math.floor(dataSize / scale),
    storageSize: Math.floor(dataSize / scale),
    indexes,
    indexSize: Math.floor(indexSize / scale),
    totalSize: Math.floor((dataSize + indexSize) / scale),
    scaleFactor: scale,
    fsUsedSize: 0,
    fsTotalSize: 0,
    ok: 1,
  };
};

const collStats: CommandHandler = (cmd, ctx) => {
  const name = collectionName(cmd, "collStats");
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll) throw new MongoServerError("NamespaceNotFound", `Collection [${ctx.db}.${name}] not found.`);
  return { ns: coll.ns, ...collectionStats(coll, scaleOf(cmd.scale)), ok: 1 };
};

/** The `$collStats` stage's one document (storageStats and count are what tools ask for). */
function collStatsDoc(ctx: CommandContext, name: string, spec: Doc): Doc {
  const coll = ctx.storage.get(ctx.db, name);
  if (!coll)
    throw new MongoServerError(
      "NamespaceNotFound",
      `Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [${ctx.db}.${name}] not found.`,
    );
  for (const k of Object.keys(spec))
    if (!["storageStats", "count", "latencyStats", "queryExecStats"].includes(k)) throw failedToParse(`unrecognized option to $collStats: ${k}`);
  const out: Doc = { ns: coll.ns, host: `${ctx.server.host}:${ctx.server.port}`, localTime: new Date() };
  if (isPlainObject(spec.storageStats)) out.storageStats = collectionStats(coll, scaleOf(spec.storageStats.scale));
  if (spec.count !== undefined) out.count = { count: coll.size };
  if (spec.latencyStats !== undefined)
    out.latencyStats = {
      reads: { latency: 0, ops: 0 },
      writes: { latency: 0, ops: 0 },
      commands: { latency: 0, ops: 0 },
      transactions: { latency: 0, ops: 0 },
    };
  if (spec.queryExecStats !== undefined) out.queryExecStats = { collectionScans: { total: 0, nonTailable: 0 } };
  return out;
}

// ------------------------------------------------------------------ replica set

function replicaSetOf(ctx: CommandContext): string {
  if (!ctx.server.replicaSet) throw new MongoServerError("NoReplicationEnabled", "not running with --replSet");
  return ctx.server.replicaSet;
}

const replSetGetStatus: CommandHandler = (_cmd, ctx) => {
  const set = replicaSetOf(ctx);
  const now = new Date();
  const optime = { ts: new Timestamp({ t: Math.floor(now.getTime() / 1000), i: 1 }), t: 1 };
  return {
    set,
    date: now,
    myState: 1,
    term: 1,
    heartbeatIntervalMillis: 2000,
    majorityVoteCount: 1,
    writeMajorityCount: 1,
    votingMembersCount: 1,
    writableVotingMembersCount: 1,
    optimes: {
      lastCommittedOpTime: optime,
      appliedOpTime: optime,
      durableOpTime: optime,
      lastCommittedWallTime: now,
      lastAppliedWallTime: now,
      lastDurableWallTime: now,
    },
    members: [
      {
        _id: 0,
        name: `${ctx.server.host}:${ctx.server.port}`,
        health: 1,
        state: 1,
        stateStr: "PRIMARY",
        uptime: Math.floor((now.getTime() - ctx.server.startedAt.getTime()) / 1000),
        optime,
        optimeDate: now,
        syncSourceHost: "",
        syncSourceId: -1,
        infoMessage: "",
        electionTime: new Timestamp({ t: Math.floor(ctx.server.startedAt.getTime() / 1000), i: 1 }),
        electionDate: ctx.server.startedAt,
        configVersion: 1,
        configTerm: 1,
        self: true,
        lastHeartbeatMessage: "",
      },
    ],
    ok: 1,
  };
};

const replSetGetConfig: CommandHandler = (_cmd, ctx) => ({
  config: {
    _id: replicaSetOf(ctx),
    version: 1,
    term: 1,
    members: [
      {
        _id: 0,
        host: `${ctx.server.host}:${ctx.server.port}`,
        arbiterOnly: false,
        buildIndexes: true,
        hidden: false,
        priority: 1,
        tags: {},
        secondaryDelaySecs: 0,
        votes: 1,
      },
    ],
    protocolVersion: 1,
    writeConcernMajorityJournalDefault: true,
    settings: {
      chainingAllowed: true,
      heartbeatIntervalMillis: 2000,
      heartbeatTimeoutSecs: 10,
      electionTimeoutMillis: 10000,
      catchUpTimeoutMillis: -1,
      getLastErrorDefaults: { w: 1, wtimeout: 0 },
    },
  },
  ok: 1,
});

// ------------------------------------------------------------------ operations

/**
 * Commands run one at a time to completion (the server is single-threaded and no command
 * waits inside), so the only operation in progress is the one asking: currentOp lists it.
 */
function currentOps(cmd: Doc, ctx: CommandContext): Doc[] {
  return [
    {
      type: "op",
      host: `${ctx.server.host}:${ctx.server.port}`,
      desc: `conn${ctx.connectionId}`,
      connectionId: ctx.connectionId,
      client: "127.0.0.1",
      active: true,
      currentOpTime: new Date().toISOString(),
      opid: ctx.connectionId,
      secs_running: 0,
      microsecs_running: 0,
      op: "command",
      ns: `${ctx.db}.$cmd`,
      command: cmd,
      numYields: 0,
      waitingForLock: false,
    },
  ];
}

const currentOp: CommandHandler = (cmd, ctx) => {
  const filter = Object.fromEntries(
    Object.entries(cmd).filter(([k]) => !["currentOp", "$all", "$ownOps", "$db", "lsid", "$clusterTime", "$readPreference", "comment"].includes(k)),
  );
  const matches = compileFilter(filter);
  return { inprog: currentOps(cmd, ctx).filter((op) => matches(op)), ok: 1 };
};

const killOp: CommandHandler = (cmd) => {
  if (typeof cmd.op !== "number" && !(isPlainObject(cmd.op) || typeof cmd.op === "string")) throw badValue('Did not provide "op" field');
  // No other operation is ever in progress while this command runs (see currentOp).
  return { info: "attempting to kill op", ok: 1 };
};

// ------------------------------------------------------------------ parameters

/** Parameters tools read; only logLevel can be set (nothing here logs by level, so it is stored). */
function parameters(ctx: CommandContext): Record<string, unknown> {
  return (ctx.server.parameters ??= {
    featureCompatibilityVersion: { version: "7.0" },
    authenticationMechanisms: [],
    logLevel: 0,
    quiet: false,
    cursorTimeoutMillis: 600_000,
    transactionLifetimeLimitSeconds: 60,
    maxTransactionLockRequestTimeoutMillis: 5,
    internalQueryFrameworkControl: "forceClassicEngine",
    requireApiVersion: false,
    notablescan: false,
    ttlMonitorEnabled: true,
    enableTestCommands: false,
    automationServiceDescriptor: "",
  });
}

const SETTABLE = new Set(["logLevel", "quiet"]);
const CMD_FIELDS = new Set([
  "$db",
  "lsid",
  "$clusterTime",
  "$readPreference",
  "comment",
  "apiVersion",
  "apiStrict",
  "apiDeprecationErrors",
  "allParameters",
  "showDetails",
]);

const getParameter: CommandHandler = (cmd, ctx) => {
  const params = parameters(ctx);
  const all = cmd.getParameter === "*" || (isPlainObject(cmd.getParameter) && cmd.getParameter.allParameters === true);
  if (all) return { ...params, ok: 1 };
  const wanted = Object.keys(cmd).filter((k) => k !== "getParameter" && !CMD_FIELDS.has(k));
  if (wanted.length === 0) throw new MongoServerError("InvalidOptions", "no option found to get");
  const out: Doc = {};
  for (const k of wanted) {
    if (!(k in params)) throw new MongoServerError("InvalidOptions", `no option found to get: ${k}`);
    out[k] = params[k];
  }
  return { ...out, ok: 1 };
};

const setParameter: CommandHandler = (cmd, ctx) => {
  const params = parameters(ctx);
  const given = Object.keys(cmd).filter((k) => k !== "setParameter" && !CMD_FIELDS.has(k));
  if (given.length === 0) throw new MongoServerError("InvalidOptions", "no option found to set, use help:true to see options");
  for (const k of given) {
    if (!(k in params)) throw new MongoServerError("InvalidOptions", `attempted to set unrecognized parameter [${k}], use help:true to see options`);
    if (!SETTABLE.has(k)) throw notSupported(`setting the parameter ${k}`);
  }
  const was = params[given[0]];
  for (const k of given) params[k] = k === "logLevel" ? Number(cmd[k]) : cmd[k];
  return { was, ok: 1 };
};

// ------------------------------------------------------------------ aggregate stages and explain

/**
 * `aggregate` whose first stage is `$collStats` or `$currentOp` (their input is not a
 * collection's documents), and `explain` of an aggregate; null for any other command, which
 * the regular handlers answer.
 */
export function toolAggregate(cmd: Doc, ctx: CommandContext): Doc | null {
  if (cmd.explain !== undefined && isPlainObject(cmd.explain) && Object.keys(cmd.explain)[0] === "aggregate") {
    return explainAggregate(cmd.explain, ctx);
  }
  if (Object.keys(cmd)[0] !== "aggregate" || !Array.isArray(cmd.pipeline) || !isPlainObject(cmd.pipeline[0])) return null;
  const first = Object.keys(cmd.pipeline[0])[0];
  if (first !== "$collStats" && first !== "$currentOp") return null;
  const spec = cmd.pipeline[0][first];
  if (!isPlainObject(spec)) throw failedToParse(`${first} must be specified as an object`);
  let input: Doc[];
  if (first === "$collStats") {
    if (typeof cmd.aggregate !== "string") throw new MongoServerError("InvalidNamespace", "$collStats must be run against a collection namespace");
    input = [collStatsDoc(ctx, cmd.aggregate, spec)];
  } else {
    if (ctx.db !== "admin" || cmd.aggregate !== 1)
      throw new MongoServerError("InvalidNamespace", "$currentOp must be run against the 'admin' database with {aggregate: 1}");
    input = currentOps(cmd, ctx);
  }
  const rest = (cmd.pipeline as Doc[]).slice(1);
  const docs = rest.length ? runPipeline(input, rest, {}) : input;
  const ns = `${ctx.db}.${typeof cmd.aggregate === "string" ? cmd.aggregate : "$cmd.aggregate"}`;
  return { cursor: { firstBatch: docs, id: Long.ZERO, ns }, ok: 1 };
}

/** explain of aggregate: the plan of the leading $match (served by the query path), then the stages. */
function explainAggregate(inner: Doc, ctx: CommandContext): Doc {
  const name = inner.aggregate;
  if (typeof name !== "string") throw failedToParse("explain of aggregate needs a collection name");
  if (!Array.isArray(inner.pipeline)) throw failedToParse("'pipeline' option must be specified as an array");
  const pipeline = inner.pipeline as Doc[];
  const hasMatch = isPlainObject(pipeline[0]) && Object.keys(pipeline[0])[0] === "$match";
  const filter = hasMatch ? (pipeline[0].$match as Doc) : {};
  const coll = ctx.storage.get(ctx.db, name);
  const plan: QueryPlan = coll ? coll.query(filter, {}).plan : { stage: "EOF", keysExamined: 0, docsExamined: 0 };
  const winningPlan: Doc =
    plan.stage === "COLLSCAN" || plan.stage === "EOF"
      ? { stage: plan.stage, filter }
      : { stage: "FETCH", inputStage: { stage: plan.stage, indexName: plan.indexName } };
  const queryPlanner = { namespace: `${ctx.db}.${name}`, parsedQuery: filter, winningPlan, rejectedPlans: [] };
  const rest = pipeline.slice(hasMatch ? 1 : 0);
  return {
    explainVersion: "1",
    stages: [
      { $cursor: { queryPlanner, executionStats: { totalKeysExamined: plan.keysExamined, totalDocsExamined: plan.docsExamined } } },
      ...rest.map((s) => ({ ...s })),
    ],
    queryPlanner,
    ok: 1,
  };
}

export const toolCommands: Record<string, CommandHandler> = {
  renameCollection,
  collMod,
  dbStats,
  dbstats: dbStats,
  collStats,
  collstats: collStats,
  replSetGetStatus,
  replSetGetConfig,
  currentOp,
  killOp,
  getParameter,
  setParameter,
};
