/**
 * Cursors (batch sizes and the 16 MiB cap), command errors with MongoDB's codes, update features (pipeline updates,
 * arrayFilters, $setOnInsert, $type by BSON name, $comment), and two clients sharing a server.
 */
import { Decimal128, Long, MongoClient, ObjectId, type Db } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type AnyDoc, type TestMongo } from "../helpers/mongo.js";

describe("cursors, errors and shared use", () => {
  let mongo: TestMongo;
  let a: MongoClient;
  let b: MongoClient;
  let dbA: Db;
  let dbB: Db;

  beforeAll(async () => {
    mongo = await startTestMongo("cursors");
    a = await new MongoClient(mongo.uri).connect();
    b = await new MongoClient(mongo.uri).connect();
    dbA = a.db(mongo.dbName);
    dbB = b.db(mongo.dbName);
  });
  afterAll(async () => {
    await dbA?.dropDatabase();
    await a?.close();
    await b?.close();
    await mongo?.stop();
  });

  it("returns 101 documents in a default first batch and the rest through getMore", async () => {
    await dbA.collection<AnyDoc>("batch").insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    const first = await dbA.command({ find: "batch" });
    expect(first.cursor.firstBatch).toHaveLength(101);
    const all = await dbA.collection<AnyDoc>("batch").find().toArray();
    expect(all).toHaveLength(250);
    const single = await dbA.command({ find: "batch", limit: 5, singleBatch: true });
    expect(single.cursor.firstBatch).toHaveLength(5);
    expect(Number(single.cursor.id)).toBe(0);
  });

  it("caps a batch at 16 MiB", async () => {
    const big = "x".repeat(1024 * 1024);
    await dbA.collection<AnyDoc>("big").insertMany(Array.from({ length: 20 }, (_, i) => ({ i, big })));
    const first = await dbA.command({ find: "big", batchSize: 100 });
    expect(first.cursor.firstBatch.length).toBeGreaterThan(0);
    expect(first.cursor.firstBatch.length).toBeLessThan(20);
    expect(await dbA.collection<AnyDoc>("big").countDocuments()).toBe(20);
    expect((await dbA.collection<AnyDoc>("big").find().toArray()).length).toBe(20);
    await dbA.collection<AnyDoc>("big").drop();
  });

  it("answers errors with MongoDB's codes", async () => {
    await expect(dbA.command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: "CommandNotFound",
      message: expect.stringContaining("frobnicate"),
    });
    await expect(dbA.command({ listIndexes: "never_created" })).rejects.toMatchObject({ code: 26 });
    await dbA.createCollection("made");
    await expect(dbA.createCollection("made", { capped: true, size: 1000 })).rejects.toMatchObject({ code: 48 });
    await expect(
      dbA
        .collection<AnyDoc>("made")
        .find({ a: { $bogus: 1 } })
        .toArray(),
    ).rejects.toMatchObject({ code: 2 });
    await expect(dbA.command({ update: "made", updates: [{ q: {}, u: { $frob: { a: 1 } } }] })).resolves.toMatchObject({
      writeErrors: [expect.objectContaining({ code: 9 })],
    });
    const doc = await dbA.collection<AnyDoc>("made").insertOne({ a: 1 });
    await expect(dbA.collection<AnyDoc>("made").updateOne({ _id: doc.insertedId }, { $set: { _id: new ObjectId() } })).rejects.toMatchObject({ code: 66 });
    await dbA.collection<AnyDoc>("made").createIndex({ a: 1 }, { unique: true });
    await dbA.collection<AnyDoc>("made").insertOne({ a: 2 });
    const dup = await dbA.command({ findAndModify: "made", query: { a: 2 }, update: { $set: { a: 1 } } }).catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: 11000, keyPattern: { a: 1 }, keyValue: { a: 1 } });
  });

  it("applies pipeline updates, arrayFilters, $setOnInsert and upserts", async () => {
    const c = dbA.collection<AnyDoc>("upd");
    await c.insertOne({
      _id: 1,
      n: 2,
      items: [
        { k: "a", v: 1 },
        { k: "b", v: 2 },
      ],
    });
    await c.updateOne({ _id: 1 }, [{ $set: { doubled: { $multiply: ["$n", 2] } } }]);
    await c.updateOne({ _id: 1 }, { $inc: { "items.$[it].v": 10 } }, { arrayFilters: [{ "it.k": "b" }] });
    expect(await c.findOne({ _id: 1 })).toMatchObject({
      doubled: 4,
      items: [
        { k: "a", v: 1 },
        { k: "b", v: 12 },
      ],
    });
    await c.updateOne({ _id: 2 }, { $set: { x: 1 }, $setOnInsert: { created: true } }, { upsert: true });
    await c.updateOne({ _id: 2 }, { $set: { x: 2 }, $setOnInsert: { created: false } }, { upsert: true });
    expect(await c.findOne({ _id: 2 })).toEqual({ _id: 2, x: 2, created: true });
    const seq = await c.findOneAndUpdate({ _id: "counter" }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: "after" });
    expect(seq?.seq).toBe(1);
  });

  it("matches $type by BSON name and accepts $comment", async () => {
    const c = dbA.collection<AnyDoc>("types");
    const oid = new ObjectId();
    await c.insertMany([{ v: oid }, { v: "s" }, { v: 1.5 }, { v: new Date() }, { v: [1, 2] }]);
    expect(await c.countDocuments({ v: { $type: "objectId" } })).toBe(1);
    expect(await c.countDocuments({ v: { $type: "string" }, $comment: "why" })).toBe(1);
    expect(await c.countDocuments({ v: { $type: "date" } })).toBe(1);
    expect(await c.countDocuments({ v: { $type: "array" } })).toBe(1);
    expect(await c.countDocuments({ v: { $type: "double" } })).toBe(1);
    const ids = await c.aggregate([{ $match: { v: { $type: 7 } } }, { $project: { s: { $toString: "$v" } } }]).toArray();
    expect(ids[0].s).toBe(oid.toHexString());
  });

  it("round-trips ObjectId, Date, Long and Decimal128 values", async () => {
    const c = dbA.collection<AnyDoc>("bsontypes");
    const oid = new ObjectId();
    const at = new Date("2026-01-01T08:00:00.000Z");
    const big = Long.fromString("9007199254740993");
    await c.insertOne({ _id: 1, oid, at, big, price: Decimal128.fromString("19.99"), small: Long.fromNumber(42) });
    const raw = await dbA.collection<AnyDoc>("bsontypes").findOne({ _id: 1 }, { promoteLongs: false });
    expect(raw?.oid).toEqual(oid);
    expect(raw?.at).toEqual(at);
    expect((raw?.big as Long).toString()).toBe("9007199254740993");
    expect((raw?.price as Decimal128).toString()).toBe("19.99");
    expect(await c.countDocuments({ oid, at: { $gte: new Date("2025-12-31T00:00:00Z") } })).toBe(1);
    expect(await c.countDocuments({ price: { $gt: 10 } })).toBe(1);
    expect(await c.countDocuments({ small: 42 })).toBe(1);
  });

  it("sorts across types in BSON order", async () => {
    const c = dbA.collection<AnyDoc>("order");
    await c.insertMany([
      { _id: 1, v: "a" },
      { _id: 2, v: 5 },
      { _id: 3, v: null },
      { _id: 4, v: new ObjectId() },
      { _id: 5, v: true },
      { _id: 6, v: { x: 1 } },
      { _id: 7, v: new Date(0) },
    ]);
    const order = (await c.find().sort({ v: 1 }).toArray()).map((d) => d._id);
    expect(order).toEqual([3, 2, 1, 6, 4, 5, 7]);
  });

  it("shows one client's writes to another client on the same server", async () => {
    await dbA.collection<AnyDoc>("shared").insertOne({ from: "a" });
    await dbB.collection<AnyDoc>("shared").insertOne({ from: "b" });
    expect((await dbA.collection<AnyDoc>("shared").find().toArray()).map((d) => d.from).sort()).toEqual(["a", "b"]);
    expect(await dbB.collection<AnyDoc>("shared").countDocuments()).toBe(2);
    const names = (await a.db().admin().listDatabases()).databases.map((d) => d.name);
    expect(names).toContain(mongo.dbName);
  });
});
