/**
 * Index semantics: unique (single, compound, sparse, partial, collation), index-served finds
 * (explain), text search with scores, TTL expiry, and index management errors.
 */
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, stopEmbeddedClient, useTestDb, type AnyDoc } from "../helpers/mongo.js";
import { until } from "../helpers/wait.js";

describe("indexes", () => {
  const t = useTestDb("indexes");

  it("enforces a unique index and leaves the collection unchanged on a violation", async () => {
    const c = t.db.collection<AnyDoc>("u_single");
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ email: "a@x.io" });
    await expect(c.insertOne({ email: "a@x.io" })).rejects.toMatchObject({ code: 11000, keyPattern: { email: 1 }, keyValue: { email: "a@x.io" } });
    const b = await c.insertOne({ email: "b@x.io" });
    await expect(c.updateOne({ _id: b.insertedId }, { $set: { email: "a@x.io" } })).rejects.toMatchObject({ code: 11000 });
    expect(await c.findOne({ _id: b.insertedId })).toMatchObject({ email: "b@x.io" });
    expect(await c.countDocuments()).toBe(2);
  });

  it("enforces compound unique keys on the combination only", async () => {
    const c = t.db.collection<AnyDoc>("u_compound");
    await c.createIndex({ conversation_id: 1, seq: 1 }, { unique: true });
    await c.insertMany([
      { conversation_id: 1, seq: 1 },
      { conversation_id: 1, seq: 2 },
      { conversation_id: 2, seq: 1 },
    ]);
    await expect(c.insertOne({ conversation_id: 1, seq: 2 })).rejects.toMatchObject({ code: 11000, keyValue: { conversation_id: 1, seq: 2 } });
  });

  it("skips documents without the field in a sparse unique index", async () => {
    const c = t.db.collection<AnyDoc>("u_sparse");
    await c.createIndex({ phone: 1 }, { unique: true, sparse: true });
    await c.insertMany([{ name: "a" }, { name: "b" }, { phone: "+1" }]);
    await expect(c.insertOne({ phone: "+1" })).rejects.toMatchObject({ code: 11000 });
  });

  it("applies a partial unique index only to matching documents", async () => {
    const c = t.db.collection<AnyDoc>("u_partial");
    await c.createIndex({ sender: 1, client_id: 1 }, { unique: true, partialFilterExpression: { client_id: { $type: "string" } } });
    await c.insertMany([{ sender: 1 }, { sender: 1 }, { sender: 1, client_id: "x" }]);
    await expect(c.insertOne({ sender: 1, client_id: "x" })).rejects.toMatchObject({ code: 11000 });
    await c.insertOne({ sender: 2, client_id: "x" });
  });

  it("compares keys case-insensitively in a unique index with collation strength 2", async () => {
    const c = t.db.collection<AnyDoc>("u_collation");
    await c.createIndex({ username: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
    await c.insertOne({ username: "Alice" });
    await expect(c.insertOne({ username: "aLiCe" })).rejects.toMatchObject({ code: 11000 });
    const found = await c.find({ username: "ALICE" }, { collation: { locale: "en", strength: 2 } }).toArray();
    expect(found).toHaveLength(1);
  });

  it("refuses to build a unique index over duplicate data", async () => {
    const c = t.db.collection<AnyDoc>("u_build");
    await c.insertMany([{ k: 1 }, { k: 1 }]);
    await expect(c.createIndex({ k: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
  });

  it("serves equality and $in on a leading field from the index", async () => {
    const c = t.db.collection<AnyDoc>("plan");
    await c.createIndex({ owner: 1, at: -1 });
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ owner: i % 5, at: i })));
    const eq = await c.find({ owner: 3 }).explain("executionStats");
    expect(JSON.stringify(eq.queryPlanner.winningPlan)).toContain("IXSCAN");
    expect(eq.executionStats.totalDocsExamined).toBe(10);
    const inq = await c.find({ owner: { $in: [1, 2] }, at: { $gt: 10 } }).explain("executionStats");
    expect(JSON.stringify(inq.queryPlanner.winningPlan)).toContain("IXSCAN");
    expect(inq.executionStats.totalDocsExamined).toBeLessThanOrEqual(20);
    const scan = await c.find({ at: 3 }).explain("executionStats");
    expect(JSON.stringify(scan.queryPlanner.winningPlan)).toContain("COLLSCAN");
    expect(await c.countDocuments({ owner: { $in: [1, 2] }, at: { $gt: 10 } })).toBe(16);
  });

  it("serves a field's equality inside a top-level $and from the index (a keyset page)", async () => {
    const c = t.db.collection<AnyDoc>("plan_and");
    await c.createIndex({ conv: 1, seq: 1 });
    await c.insertMany(Array.from({ length: 60 }, (_, i) => ({ conv: i % 6, seq: Math.floor(i / 6) + 1, hidden: i % 4 === 0 ? [7] : [] })));
    // What common/connection.ts sends for a page after seq 4 of conversation 2.
    const page = { $and: [{ conv: 2, hidden: { $ne: 7 } }, { $or: [{ seq: { $gt: 4 } }, { seq: 4, _id: { $gt: 0 } }] }] };
    const plan = await c.find(page).explain("executionStats");
    expect(JSON.stringify(plan.queryPlanner.winningPlan)).toContain("IXSCAN");
    expect(plan.executionStats.totalDocsExamined).toBe(10);
    const expected = Array.from({ length: 60 }, (_, i) => i)
      .filter((i) => i % 6 === 2 && Math.floor(i / 6) + 1 > 4 && i % 4 !== 0)
      .map((i) => Math.floor(i / 6) + 1);
    expect((await c.find(page).sort({ seq: 1 }).toArray()).map((d) => d.seq)).toEqual(expected);
    // Nested, and beside other top-level conditions: still every conjunct holds.
    const nested = { hidden: { $size: 0 }, $and: [{ $and: [{ conv: 3 }] }, { seq: { $lte: 5 } }] };
    expect(JSON.stringify((await c.find(nested).explain("executionStats")).queryPlanner.winningPlan)).toContain("IXSCAN");
    const nestedExpected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 6 === 3 && Math.floor(i / 6) + 1 <= 5 && i % 4 !== 0);
    expect(await c.countDocuments(nested)).toBe(nestedExpected.length);
  });

  it("serves anchored prefix regexes and ranges on a leading field from the index", async () => {
    const c = t.db.collection<AnyDoc>("prefix");
    await c.createIndex({ keys: 1 });
    await c.createIndex({ at: 1 });
    await c.insertMany([
      { _id: 1, keys: ["alice", "smith"], at: 5 },
      { _id: 2, keys: ["alicia"], at: 15 },
      { _id: 3, keys: ["bob", "alibaba"], at: 25 },
      { _id: 4, keys: ["carol"], at: 35 },
      { _id: 5, keys: ["a.lice"], at: 45 },
    ]);
    const prefix = await c.find({ keys: /^ali/ }).explain("executionStats");
    expect(JSON.stringify(prefix.queryPlanner.winningPlan)).toContain("IXSCAN");
    expect(prefix.executionStats.totalDocsExamined).toBe(3);
    expect((await c.find({ keys: /^ali/ }).toArray()).map((d) => d._id).sort()).toEqual([1, 2, 3]);
    expect((await c.find({ keys: { $regex: "^a\\.l" } }).toArray()).map((d) => d._id)).toEqual([5]);
    const range = await c.find({ at: { $gte: 15, $lt: 40 } }).explain("executionStats");
    expect(JSON.stringify(range.queryPlanner.winningPlan)).toContain("IXSCAN");
    expect(range.executionStats.totalDocsExamined).toBe(3);
    expect((await c.find({ at: { $gte: 15, $lt: 40 } }).toArray()).map((d) => d._id).sort()).toEqual([2, 3, 4]);
    expect((await c.find({ keys: /^ALI/i }).toArray()).map((d) => d._id).sort()).toEqual([1, 2, 3]);
  });

  it("searches a text index with phrases, negations and textScore", async () => {
    const c = t.db.collection<AnyDoc>("text");
    await c.createIndex({ content: "text" });
    await c.insertMany([
      { _id: 1, content: "Lunch tomorrow at the cafe?" },
      { _id: 2, content: "The cafe is closed, lunch at home" },
      { _id: 3, content: "Meeting moved to Monday" },
      { _id: 4, content: "cafés and lunches everywhere" },
    ]);
    const lunch = await c
      .find({ $text: { $search: "lunch" } }, { projection: { score: { $meta: "textScore" } } })
      .sort({ score: { $meta: "textScore" } })
      .toArray();
    expect(lunch.map((d) => d._id).sort()).toEqual([1, 2, 4]);
    expect(lunch.every((d) => typeof d.score === "number" && d.score > 0)).toBe(true);
    expect(lunch[0].score).toBeGreaterThanOrEqual(lunch[lunch.length - 1].score);
    expect((await c.find({ $text: { $search: "lunch -home" } }).toArray()).map((d) => d._id).sort()).toEqual([1, 4]);
    expect((await c.find({ $text: { $search: '"at the cafe"' } }).toArray()).map((d) => d._id)).toEqual([1]);
    expect((await c.find({ $text: { $search: "cafe" }, _id: { $gt: 1 } }).toArray()).map((d) => d._id).sort()).toEqual([2, 4]);
    await t.db.collection<AnyDoc>("notext").insertOne({ content: "x" });
    await expect(
      t.db
        .collection<AnyDoc>("notext")
        .find({ $text: { $search: "x" } })
        .toArray(),
    ).rejects.toMatchObject({ code: 27 });
  });

  it("manages indexes with MongoDB's errors (85, 86, 27, 26)", async () => {
    const c = t.db.collection<AnyDoc>("manage");
    await c.createIndex({ a: 1 }, { name: "a_idx" });
    expect(await c.createIndex({ a: 1 }, { name: "a_idx" })).toBe("a_idx");
    await expect(c.createIndex({ b: 1 }, { name: "a_idx" })).rejects.toMatchObject({ code: 86 });
    await expect(c.createIndex({ a: 1 }, { name: "a_idx", unique: true })).rejects.toMatchObject({ code: 85 });
    await expect(c.createIndex({ a: 1 }, { name: "other" })).rejects.toMatchObject({ code: 85 });
    await expect(c.dropIndex("nope")).rejects.toMatchObject({ code: 27 });
    await c.dropIndex("a_idx");
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
    await expect(t.db.command({ listIndexes: "does_not_exist" })).rejects.toMatchObject({ code: 26 });
  });
});

describe("TTL indexes", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient({ ttlSweepMs: 50 })));
  afterAll(() => stopEmbeddedClient(server, client));

  it("removes expired documents on the sweep and keeps the others", async () => {
    const c = client.db("ttl").collection<AnyDoc>("sessions");
    await c.createIndex({ expires_at: 1 }, { expireAfterSeconds: 0 });
    await c.insertMany([
      { _id: "old", expires_at: new Date(Date.now() - 60_000) },
      { _id: "new", expires_at: new Date(Date.now() + 3_600_000) },
      { _id: "none" },
    ]);
    // Wait until the sweep ran; the assertion is on content, not on time.
    await until(async () => (await c.countDocuments({ _id: "old" })) === 0, "the TTL sweep to remove the expired document", { intervalMs: 25, tries: 200 });
    expect((await c.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(["new", "none"]);
  });
});
