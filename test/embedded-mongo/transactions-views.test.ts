/**
 * Transaction views filled on demand (src/embedded-mongo/txn-view.ts), through the official
 * driver: a transaction pulls in only the documents its operations may see, yet still reads
 * its snapshot (by filter, by _id, by text, through unique checks), sees its own writes merged
 * with documents it never read, and still fails a duplicate against a document it never read.
 */
import { MongoClient, MongoServerError, type Collection, type ClientSession } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, stopEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";

describe("transaction views filled on demand", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let users: Collection<AnyDoc>;
  let other: Collection<AnyDoc>;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient()));
  afterAll(() => stopEmbeddedClient(server, client));
  beforeEach(async () => {
    server.reset();
    users = client.db("views").collection<AnyDoc>("users");
    other = client.db("views").collection<AnyDoc>("other");
    await users.createIndex({ email: 1 }, { unique: true });
    await users.createIndex({ bio: "text" });
    await users.insertMany(
      Array.from({ length: 50 }, (_, i) => ({ _id: `u${i}`, email: `u${i}@x`, rank: i, group: i % 2 ? "odd" : "even", bio: `member number ${i}` })),
    );
    await other.insertOne({ _id: 1 });
  });

  /** A transaction whose snapshot is taken now; `touch` also makes the users view now (before outside writes). */
  async function begin(touch: boolean): Promise<ClientSession> {
    const session = client.startSession();
    session.startTransaction();
    if (touch) await users.findOne({ _id: "u40" }, { session });
    else await other.findOne({ _id: 1 }, { session });
    return session;
  }

  async function writeOutside(): Promise<void> {
    await users.updateOne({ _id: "u1" }, { $set: { rank: 1000, bio: "rewritten elsewhere" } });
    await users.updateOne({ _id: "u2" }, { $set: { email: "moved@x" } });
    await users.deleteOne({ _id: "u3" });
    await users.insertOne({ _id: "late", email: "late@x", rank: -1, group: "odd", bio: "member late" });
  }

  for (const touch of [false, true]) {
    const when = touch ? "made before" : "made after";
    it(`reads the snapshot by filter, _id, text and unique key (view ${when} the outside writes)`, async () => {
      const session = await begin(touch);
      await writeOutside();
      // By _id: the snapshot version, a deleted document still there, a later one absent.
      expect(await users.findOne({ _id: "u1" }, { session })).toMatchObject({ rank: 1, bio: "member number 1" });
      expect(await users.findOne({ _id: "u3" }, { session })).toMatchObject({ email: "u3@x" });
      expect(await users.findOne({ _id: "late" }, { session })).toBeNull();
      // By filter (served by the real collection's indexes), never by the current values.
      expect(
        await users
          .find({ rank: { $lt: 4 } }, { session })
          .sort({ rank: 1 })
          .map((d) => d._id)
          .toArray(),
      ).toEqual(["u0", "u1", "u2", "u3"]);
      expect(await users.find({ rank: { $gt: 999 } }, { session }).toArray()).toEqual([]);
      expect(await users.findOne({ email: "u2@x" }, { session })).toMatchObject({ _id: "u2" });
      expect(await users.findOne({ email: "moved@x" }, { session })).toBeNull();
      // By text.
      expect(await users.find({ $text: { $search: "rewritten" } }, { session }).toArray()).toEqual([]);
      expect(await users.find({ $text: { $search: "late" } }, { session }).toArray()).toEqual([]);
      // A unique key that the snapshot holds (u2's old email) is taken; the one freed outside only later is not.
      const dup = await users.insertOne({ _id: "n1", email: "u2@x" }, { session }).catch((e: unknown) => e);
      expect((dup as MongoServerError).code).toBe(11000);
      await session.endSession();
      expect(await users.findOne({ email: "u2@x" })).toBeNull();
    });
  }

  it("does not see a key taken outside after its snapshot, and finds the clash at commit", async () => {
    const session = await begin(false);
    await writeOutside();
    await users.insertOne({ _id: "n2", email: "late@x" }, { session });
    expect(await users.findOne({ email: "late@x" }, { session })).toMatchObject({ _id: "n2" });
    const commit = await session.commitTransaction().catch((e: unknown) => e);
    expect((commit as MongoServerError).code).toBe(112);
    await session.endSession();
    expect(await users.findOne({ _id: "n2" })).toBeNull();
  });

  it("fails a duplicate against a document the transaction never read, by insert, update and upsert", async () => {
    for (const write of [
      (s: ClientSession) => users.insertOne({ _id: "n3", email: "u17@x" }, { session: s }),
      (s: ClientSession) => users.updateOne({ _id: "u5" }, { $set: { email: "u18@x" } }, { session: s }),
      (s: ClientSession) => users.updateOne({ _id: "n4" }, { $set: { email: "u19@x" } }, { session: s, upsert: true }),
      (s: ClientSession) => users.insertOne({ _id: "u20", email: "fresh@x" }, { session: s }),
    ]) {
      const session = await begin(true);
      const err = await write(session).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      expect((err as MongoServerError).code).toBe(11000);
      await session.endSession();
    }
    expect(await users.countDocuments()).toBe(50);
    expect(await users.findOne({ _id: "u5" })).toMatchObject({ email: "u5@x" });
  });

  it("deletes then reinserts the same _id and the same unique key inside one transaction", async () => {
    const session = await begin(false);
    expect((await users.deleteOne({ _id: "u4" }, { session })).deletedCount).toBe(1);
    expect(await users.findOne({ _id: "u4" }, { session })).toBeNull();
    await users.insertOne({ _id: "u4", email: "u4@x", rank: 4, version: 2 }, { session });
    await users.deleteOne({ email: "u6@x" }, { session });
    await users.insertOne({ _id: "u6b", email: "u6@x", rank: 6 }, { session });
    expect(await users.findOne({ email: "u4@x" }, { session })).toMatchObject({ _id: "u4", version: 2 });
    expect(await users.findOne({ _id: "u6" }, { session })).toBeNull();
    await session.commitTransaction();
    await session.endSession();
    expect(await users.findOne({ _id: "u4" })).toEqual({ _id: "u4", email: "u4@x", rank: 4, version: 2 });
    expect(await users.findOne({ _id: "u6" })).toBeNull();
    expect(await users.findOne({ email: "u6@x" })).toMatchObject({ _id: "u6b" });
  });

  it("sorts and limits its own writes merged with documents it never read", async () => {
    const session = await begin(true);
    await writeOutside(); // after the snapshot: u1..u3 changed, "late" inserted
    await users.updateOne({ _id: "u10" }, { $set: { rank: 0.5 } }, { session });
    await users.insertOne({ _id: "first", email: "first@x", rank: -5, group: "even" }, { session });
    await users.deleteOne({ _id: "u5" }, { session });
    await users.updateOne({ _id: "u0" }, { $set: { rank: 100 } }, { session });
    const page = (filter: AnyDoc, sort: AnyDoc, limit: number): Promise<unknown[]> =>
      users
        .find(filter, { session })
        .sort(sort)
        .limit(limit)
        .map((d) => d._id)
        .toArray();
    expect(await page({ rank: { $gte: -10 } }, { rank: 1 }, 4)).toEqual(["first", "u10", "u1", "u2"]);
    expect(await page({ rank: { $gte: 3, $lt: 8 } }, { rank: 1 }, 10)).toEqual(["u3", "u4", "u6", "u7"]);
    expect(await page({ group: "even" }, { rank: -1 }, 3)).toEqual(["u0", "u48", "u46"]);
    expect(await page({}, { rank: 1 }, 3)).toEqual(["first", "u10", "u1"]);
    expect(await users.findOneAndUpdate({ rank: { $gte: 0 } }, { $set: { top: true } }, { session, sort: { rank: 1 }, returnDocument: "after" })).toMatchObject(
      { _id: "u10", top: true },
    );
    await session.abortTransaction();
    await session.endSession();
  });

  it("counts, lists distinct values and aggregates over its snapshot and its own writes", async () => {
    const session = await begin(false);
    // After the snapshot, on documents the transaction does not write.
    await users.updateOne({ _id: "u12" }, { $set: { group: "outside" } });
    await users.deleteOne({ _id: "u15" });
    await users.insertOne({ _id: "late", email: "late@x", rank: -1, group: "odd" });
    await users.deleteMany({ rank: { $lt: 10 } }, { session }); // u0..u9
    await users.insertOne({ _id: "n5", email: "n5@x", rank: 7, group: "other" }, { session });
    await users.updateOne({ _id: "u11" }, { $set: { group: "even" } }, { session });
    expect(await users.countDocuments({ group: "odd" }, { session })).toBe(19);
    expect(await users.countDocuments({}, { session })).toBe(41);
    expect(await users.distinct("group", { rank: { $lt: 14 } }, { session })).toEqual(["even", "odd", "other"]);
    const sums = await users
      .aggregate([{ $match: { rank: { $lt: 14 } } }, { $group: { _id: "$group", n: { $sum: 1 } } }, { $sort: { _id: 1 } }], { session })
      .toArray();
    expect(sums).toEqual([
      { _id: "even", n: 3 },
      { _id: "odd", n: 1 },
      { _id: "other", n: 1 },
    ]);
    // No leading $match: the whole snapshot; $lookup into a collection the transaction wrote.
    await other.insertOne({ _id: 2, user: "u13" }, { session });
    const all = await users.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }], { session }).toArray();
    expect(all).toEqual([{ _id: null, n: 41 }]);
    const joined = await other
      .aggregate([{ $lookup: { from: "users", localField: "user", foreignField: "_id", as: "u" } }, { $match: { _id: 2 } }], { session })
      .toArray();
    expect(joined[0].u.map((d: AnyDoc) => d.group)).toEqual(["odd"]);
    await session.commitTransaction();
    await session.endSession();
    expect(await users.countDocuments()).toBe(41); // 50 - u15 + late - u0..u9 + n5
    expect(await users.findOne({ _id: "u12" })).toMatchObject({ group: "outside" });
    expect(await users.findOne({ _id: "u11" })).toMatchObject({ group: "even" });
  });

  it("answers SnapshotUnavailable (transient) when the collection it reads was dropped after it began reading", async () => {
    const session = await begin(true);
    await users.drop();
    const err = await users.findOne({ rank: 5 }, { session }).catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(246);
    expect((err as MongoServerError).hasErrorLabel("TransientTransactionError")).toBe(true);
    await session.endSession();
  });

  it("answers SnapshotTooOld (transient) when the history it still needs has aged out of the change log", async () => {
    const { server: small, client: c } = await startEmbeddedClient({ changeLogSize: 5 });
    try {
      const coll = c.db("views").collection<AnyDoc>("items");
      await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i, v: 0 })));
      for (const late of [false, true]) {
        const session = c.startSession();
        session.startTransaction();
        // The view is made before (late: after) the outside writes overflow the log.
        if (!late) expect(await coll.findOne({ _id: 0 }, { session })).toEqual({ _id: 0, v: 0 });
        else await c.db("views").collection("elsewhere").findOne({}, { session });
        for (let i = 1; i <= 10; i++) await coll.updateOne({ _id: i }, { $inc: { v: 1 } });
        const err = await coll.findOne({ v: 0, _id: { $gte: 5 } }, { session }).catch((e: unknown) => e);
        expect((err as MongoServerError).code).toBe(239);
        expect((err as MongoServerError).hasErrorLabel("TransientTransactionError")).toBe(true);
        await session.endSession();
      }
    } finally {
      await stopEmbeddedClient(small, c);
    }
  });
});
