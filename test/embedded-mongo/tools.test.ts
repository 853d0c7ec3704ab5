/**
 * The commands tools send, driven by the real mongosh (a dev dependency) against the embedded
 * server: db.stats(), coll.stats() ($collStats), rs.status()/rs.conf(), db.currentOp(),
 * killOp, renameCollection, collMod (validator, TTL change, hide/unhide an index), explain of
 * aggregate, getParameter/setParameter. One mongosh run prints EJSON results the test checks.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EJSON } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, stopEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const mongosh = path.join(root, "node_modules/.bin/mongosh");

const SCRIPT = `
const out = {};
const t = db.getSiblingDB("tools");
t.users.insertMany([{ _id: 1, name: "a", at: new Date() }, { _id: 2, name: "b", at: new Date() }]);
t.users.createIndex({ name: 1 });
t.users.createIndex({ at: 1 }, { expireAfterSeconds: 3600 });
out.dbStats = t.stats();
out.collStats = t.users.stats();
out.collStatsStage = t.users.aggregate([{ $collStats: { storageStats: {}, count: {} } }]).toArray();
out.rsStatus = rs.status();
out.rsConf = rs.conf();
out.currentOp = db.currentOp();
out.currentOpStage = db.getSiblingDB("admin").aggregate([{ $currentOp: {} }]).toArray();
out.killOp = db.killOp(12345);
t.old.insertOne({ k: 1 });
out.rename = t.old.renameCollection("renamed");
out.renamedCount = t.renamed.countDocuments();
out.collModValidator = t.runCommand({ collMod: "users", validator: { name: { $type: "string" } }, validationLevel: "strict" });
try { t.users.insertOne({ _id: 3, name: 5 }); out.validatorInsert = "accepted"; } catch (e) { out.validatorInsert = e.code; }
out.collModTtl = t.runCommand({ collMod: "users", index: { keyPattern: { at: 1 }, expireAfterSeconds: 60 } });
out.hide = t.users.hideIndex("name_1");
out.hiddenPlan = t.users.find({ name: "a" }).explain().queryPlanner.winningPlan;
out.unhide = t.users.unhideIndex("name_1");
out.visiblePlan = t.users.find({ name: "a" }).explain().queryPlanner.winningPlan;
out.indexes = t.users.getIndexes();
out.explainAggregate = t.users.explain().aggregate([{ $match: { name: "a" } }, { $project: { name: 1 } }]);
out.getParameter = db.adminCommand({ getParameter: 1, featureCompatibilityVersion: 1 });
out.setParameter = db.adminCommand({ setParameter: 1, logLevel: 1 });
out.logLevel = db.adminCommand({ getParameter: 1, logLevel: 1 }).logLevel;
try { db.adminCommand({ setParameter: 1, notablescan: true }); out.setUnsupported = "accepted"; } catch (e) { out.setUnsupported = e.code + " " + e.message; }
print("RESULT " + EJSON.stringify(out, { relaxed: true }));
`;

describe("commands tools use (mongosh)", () => {
  let server: EmbeddedMongo;
  let out: AnyDoc;

  beforeAll(async () => {
    server = await startEmbeddedMongo();
    const { stdout } = await promisify(execFile)(mongosh, [server.uri, "--quiet", "--norc", "--eval", SCRIPT], {
      cwd: root,
      env: { ...process.env, MONGOSH_NO_UPDATE_CHECK: "1", DO_NOT_TRACK: "1" },
      timeout: 60_000,
    });
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`mongosh printed no result: ${stdout}`);
    out = EJSON.parse(line.slice(7), { relaxed: true }) as AnyDoc;
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("db.stats() and coll.stats() / $collStats report counts, sizes and indexes", () => {
    expect(out.dbStats).toMatchObject({ db: "tools", collections: 1, objects: 2, indexes: 3, ok: 1 });
    expect(out.dbStats.dataSize).toBeGreaterThan(0);
    expect(out.collStats).toMatchObject({ ns: "tools.users", count: 2, nindexes: 3 });
    expect(Object.keys(out.collStats.indexSizes).sort()).toEqual(["_id_", "at_1", "name_1"]);
    expect(out.collStatsStage[0]).toMatchObject({ ns: "tools.users", storageStats: { count: 2, nindexes: 3 }, count: { count: 2 } });
  });

  it("rs.status() and rs.conf() describe the single-node replica set", () => {
    expect(out.rsStatus).toMatchObject({ set: "rs0", myState: 1, members: [{ _id: 0, name: `127.0.0.1:${server.port}`, stateStr: "PRIMARY", self: true }] });
    expect(out.rsConf).toMatchObject({ _id: "rs0", members: [{ _id: 0, host: `127.0.0.1:${server.port}` }] });
  });

  it("db.currentOp() and $currentOp list the running operation; killOp answers", () => {
    expect(out.currentOp.inprog).toEqual([expect.objectContaining({ active: true, op: "command" })]);
    expect(out.currentOpStage).toEqual([expect.objectContaining({ active: true, op: "command" })]);
    expect(out.killOp).toMatchObject({ ok: 1 });
  });

  it("renameCollection and collMod (validator, TTL change, hide/unhide) take effect", () => {
    expect(out.rename).toMatchObject({ ok: 1 });
    expect(out.renamedCount).toBe(1);
    expect(out.collModValidator).toMatchObject({ ok: 1 });
    expect(out.validatorInsert).toBe(121);
    expect(out.collModTtl).toMatchObject({ expireAfterSeconds_old: 3600, expireAfterSeconds_new: 60, ok: 1 });
    expect(out.hide).toMatchObject({ hidden_old: false, hidden_new: true, ok: 1 });
    expect(out.hiddenPlan).toMatchObject({ stage: "COLLSCAN" });
    expect(out.unhide).toMatchObject({ hidden_old: true, hidden_new: false, ok: 1 });
    expect(out.visiblePlan).toMatchObject({ stage: "FETCH", inputStage: { stage: "IXSCAN", indexName: "name_1" } });
    expect(out.indexes.find((i: AnyDoc) => i.name === "at_1")).toMatchObject({ expireAfterSeconds: 60 });
  });

  it("explain of aggregate shows the plan of its leading $match", () => {
    expect(out.explainAggregate.stages[0].$cursor.queryPlanner.winningPlan).toMatchObject({ stage: "FETCH", inputStage: { indexName: "name_1" } });
    expect(out.explainAggregate.stages[1]).toEqual({ $project: { name: 1 } });
  });

  it("getParameter/setParameter answer the parameters tools probe, and refuse what cannot be set", () => {
    expect(out.getParameter).toMatchObject({ featureCompatibilityVersion: { version: "7.0" }, ok: 1 });
    expect(out.setParameter).toMatchObject({ was: 0, ok: 1 });
    expect(out.logLevel).toBe(1);
    expect(out.setUnsupported).toMatch(/^238 .*not supported by the embedded server/);
  });

  it("refuses replica-set commands on a standalone server with NoReplicationEnabled", async () => {
    const { server: standalone, client } = await startEmbeddedClient({ replicaSet: false });
    try {
      await expect(client.db("admin").command({ replSetGetStatus: 1 })).rejects.toMatchObject({ code: 76 });
    } finally {
      await stopEmbeddedClient(standalone, client);
    }
  });
});
