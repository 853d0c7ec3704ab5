/**
 * Multi-document transactions through the official driver and mongoose: commit, abort,
 * snapshot isolation, read-your-own-writes, write conflicts (112 + TransientTransactionError)
 * retried by withTransaction, unique violations aborting, endSessions, the lifetime limit, and
 * the standalone refusal (code 20).
 */
import { MongoClient, MongoServerError, type Collection } from "mongodb";
import mongoose from "mongoose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, stopEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";
import { waitFor } from "../helpers/wait.js";

describe("transactions (replica-set mode)", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let coll: Collection<AnyDoc>;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient()));
  afterAll(() => stopEmbeddedClient(server, client));
  beforeEach(async () => {
    server.reset();
    coll = client.db("txn").collection<AnyDoc>("accounts");
    await coll.insertMany([
      { _id: "a", balance: 100 },
      { _id: "b", balance: 0 },
    ]);
  });

  it("commits every write together, and readers see nothing before the commit", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.updateOne({ _id: "a" }, { $inc: { balance: -30 } }, { session });
    await coll.updateOne({ _id: "b" }, { $inc: { balance: 30 } }, { session });
    await coll.insertOne({ _id: "log1", amount: 30 }, { session });
    // Read-your-own-writes inside, the old state outside.
    expect(await coll.findOne({ _id: "a" }, { session })).toEqual({ _id: "a", balance: 70 });
    expect(await coll.countDocuments({}, { session })).toBe(3);
    expect(await coll.findOne({ _id: "a" })).toEqual({ _id: "a", balance: 100 });
    expect(await coll.findOne({ _id: "log1" })).toBeNull();
    await session.commitTransaction();
    await session.endSession();
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: "a", balance: 70 },
      { _id: "b", balance: 30 },
      { _id: "log1", amount: 30 },
    ]);
  });

  it("leaves nothing behind when aborted", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.updateOne({ _id: "a" }, { $set: { balance: 0 } }, { session });
    await coll.deleteOne({ _id: "b" }, { session });
    await coll.insertOne({ _id: "c" }, { session });
    await client.db("txn").collection("fresh").insertOne({ x: 1 }, { session });
    await session.abortTransaction();
    await session.endSession();
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: "a", balance: 100 },
      { _id: "b", balance: 0 },
    ]);
    expect(await client.db("txn").collection("fresh").countDocuments()).toBe(0);
  });

  it("reads from its snapshot: a later outside write is not seen", async () => {
    const session = client.startSession();
    session.startTransaction();
    expect(await coll.findOne({ _id: "b" }, { session })).toEqual({ _id: "b", balance: 0 });
    await coll.updateOne({ _id: "a" }, { $set: { balance: 1 } });
    await coll.insertOne({ _id: "late" });
    // Collection "a" was first read by the transaction after the outside write: still the snapshot.
    expect(await coll.findOne({ _id: "a" }, { session })).toEqual({ _id: "a", balance: 100 });
    expect(await coll.findOne({ _id: "late" }, { session })).toBeNull();
    const other = client.db("txn").collection<AnyDoc>("other");
    await other.insertOne({ _id: 1 });
    expect(await other.findOne({ _id: 1 }, { session })).toBeNull();
    await session.abortTransaction();
    await session.endSession();
  });

  it("answers a write conflict with 112 and TransientTransactionError, and the loser's commit fails", async () => {
    const s1 = client.startSession();
    const s2 = client.startSession();
    s1.startTransaction();
    s2.startTransaction();
    await coll.updateOne({ _id: "a" }, { $inc: { balance: 1 } }, { session: s1 });
    const err = await coll.updateOne({ _id: "a" }, { $inc: { balance: 2 } }, { session: s2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(112);
    expect((err as MongoServerError).hasErrorLabel("TransientTransactionError")).toBe(true);
    // The conflict aborted s2's transaction.
    const commit2 = await s2.commitTransaction().catch((e: unknown) => e);
    expect((commit2 as MongoServerError).code).toBe(251);
    await s1.commitTransaction();
    expect(await coll.findOne({ _id: "a" })).toEqual({ _id: "a", balance: 101 });
    await s1.endSession();
    await s2.endSession();
  });

  it("conflicts with an outside write made after its snapshot", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.findOne({ _id: "b" }, { session });
    await coll.updateOne({ _id: "a" }, { $set: { balance: 5 } });
    const err = await coll.updateOne({ _id: "a" }, { $inc: { balance: 1 } }, { session }).catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(112);
    expect((err as MongoServerError).hasErrorLabel("TransientTransactionError")).toBe(true);
    await session.endSession();
    expect(await coll.findOne({ _id: "a" })).toEqual({ _id: "a", balance: 5 });
  });

  it("makes an outside write to a document it wrote wait for the commit, then apply on top of it", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.updateOne({ _id: "a" }, { $inc: { balance: -1 } }, { session });
    await coll.insertOne({ _id: "other" }, { session });
    // Outside, bounded: it waits (never touches uncommitted state) and gives up as MongoDB does.
    const timedOut = await coll.updateOne({ _id: "a" }, { $set: { balance: 7 } }, { maxTimeMS: 200 }).catch((e: unknown) => e);
    expect((timedOut as MongoServerError).code).toBe(50);
    // Outside, unbounded: waits for the commit.
    const outside = coll.updateOne({ _id: "a" }, { $inc: { balance: 5 } });
    const insertSame = coll.insertOne({ _id: "other", from: "outside" }).catch((e: unknown) => e);
    const upsertSame = coll.updateOne({ _id: "other" }, { $set: { seen: true } }, { upsert: true });
    await session.commitTransaction();
    await session.endSession();
    expect((await outside).modifiedCount).toBe(1);
    // The transaction's insert came first: the outside one is a duplicate, not an overwrite.
    expect(((await insertSame) as MongoServerError).code).toBe(11000);
    expect((await upsertSame).matchedCount).toBe(1);
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: "a", balance: 104 },
      { _id: "b", balance: 0 },
      { _id: "other", seen: true },
    ]);
  });

  it("makes outside writes wait for an abort too, and changes nothing of a multi-document write while waiting", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.updateOne({ _id: "b" }, { $set: { balance: 999 } }, { session });
    const many = await coll.updateMany({}, { $inc: { balance: 1 } }, { maxTimeMS: 200 }).catch((e: unknown) => e);
    expect((many as MongoServerError).code).toBe(50);
    // Not half-applied: "a" (not held) is untouched too.
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: "a", balance: 100 },
      { _id: "b", balance: 0 },
    ]);
    const waiting = coll.deleteMany({ balance: { $lt: 50 } });
    const unrelated = await coll.updateOne({ _id: "a" }, { $inc: { balance: 1 } }); // does not wait
    expect(unrelated.modifiedCount).toBe(1);
    await session.abortTransaction();
    await session.endSession();
    expect((await waiting).deletedCount).toBe(1);
    expect(await coll.find().toArray()).toEqual([{ _id: "a", balance: 101 }]);
  });

  it("withTransaction retries a conflicted callback until it succeeds", async () => {
    const session = client.startSession();
    let attempts = 0;
    await session.withTransaction(async () => {
      attempts++;
      await coll.findOne({ _id: "a" }, { session });
      if (attempts === 1) await coll.updateOne({ _id: "a" }, { $inc: { balance: 1000 } }); // a racing writer
      await coll.updateOne({ _id: "a" }, { $inc: { balance: -10 } }, { session });
    });
    await session.endSession();
    expect(attempts).toBe(2);
    expect(await coll.findOne({ _id: "a" })).toEqual({ _id: "a", balance: 1090 });
  });

  it("a unique-index violation aborts the transaction", async () => {
    const users = client.db("txn").collection<AnyDoc>("users");
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertOne({ _id: "u1", email: "x@y" });
    const session = client.startSession();
    session.startTransaction();
    await users.insertOne({ _id: "u2", email: "other" }, { session });
    const err = await users.insertOne({ _id: "u3", email: "x@y" }, { session }).catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(11000);
    const commit = await session.commitTransaction().catch((e: unknown) => e);
    expect((commit as MongoServerError).code).toBe(251);
    await session.endSession();
    expect(await users.findOne({ _id: "u2" })).toBeNull();
  });

  it("ending the session aborts its open transaction", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.insertOne({ _id: "pending" }, { session });
    await session.endSession(); // the driver aborts, then sends endSessions on close
    const s2 = client.startSession();
    s2.startTransaction();
    // No conflict with the ended transaction's write: it was released.
    await coll.insertOne({ _id: "pending", by: 2 }, { session: s2 });
    await s2.commitTransaction();
    await s2.endSession();
    expect(await coll.findOne({ _id: "pending" })).toEqual({ _id: "pending", by: 2 });
  });

  it("refuses commands a transaction cannot run", async () => {
    const session = client.startSession();
    session.startTransaction();
    const err = await client
      .db("txn")
      .command({ dropDatabase: 1 }, { session })
      .catch((e: unknown) => e);
    expect((err as MongoServerError).code).toBe(263);
    await session.endSession();
  });

  it("mongoose connection.transaction() and session.withTransaction() commit and roll back", async () => {
    const conn = await mongoose.createConnection(server.uri, { dbName: "txn_mongoose" }).asPromise();
    try {
      const Account = conn.model("Account", new mongoose.Schema({ name: String, balance: Number }));
      await Account.init();
      await conn.transaction(async (session) => {
        await Account.create([{ name: "ann", balance: 10 }], { session });
        await Account.updateOne({ name: "ann" }, { $inc: { balance: 5 } }, { session });
      });
      expect((await Account.findOne({ name: "ann" }).lean())?.balance).toBe(15);
      const session = await conn.startSession();
      await expect(
        session.withTransaction(async () => {
          await Account.create([{ name: "bob", balance: 1 }], { session });
          throw new Error("rollback please");
        }),
      ).rejects.toThrow("rollback please");
      await session.endSession();
      expect(await Account.countDocuments({ name: "bob" })).toBe(0);
    } finally {
      await conn.close();
    }
  });
});

describe("transaction lifetime", () => {
  it("aborts a transaction open longer than transactionLifetimeLimitSeconds", async () => {
    const { server, client } = await startEmbeddedClient({ transactionLifetimeLimitSeconds: 1 });
    try {
      const coll = client.db("life").collection<AnyDoc>("c");
      const session = client.startSession();
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      // Wait until the server has aborted it: the next statement is refused with 251.
      const err = await waitFor(
        () =>
          coll.findOne({ _id: 1 }, { session }).then(
            () => null,
            (e: unknown) => e,
          ),
        "the transaction to be aborted",
        { tries: 100 },
      );
      expect((err as MongoServerError).code).toBe(251);
      expect((err as MongoServerError).hasErrorLabel("TransientTransactionError")).toBe(true);
      await session.endSession();
      expect(await coll.countDocuments()).toBe(0);
    } finally {
      await stopEmbeddedClient(server, client);
    }
  });
});

describe("transactions on a standalone server", () => {
  it("are refused with code 20 as MongoDB does", async () => {
    const { server, client } = await startEmbeddedClient({ replicaSet: false });
    try {
      const session = client.startSession();
      session.startTransaction();
      const err = await client
        .db("sa")
        .collection("c")
        .insertOne({ x: 1 }, { session })
        .catch((e: unknown) => e);
      // The driver wraps the server's code 20 as it does for a real standalone mongod.
      const original = (err as MongoServerError & { originalError?: MongoServerError }).originalError ?? (err as MongoServerError);
      expect(original.code).toBe(20);
      expect(original.message).toContain("Transaction numbers are only allowed on a replica set member or mongos");
      await session.endSession();
      expect(await client.db("sa").collection("c").countDocuments()).toBe(0);
    } finally {
      await stopEmbeddedClient(server, client);
    }
  });
});

/**
 * The outcome of a commit the client cannot be sure of. mongod labels nothing
 * UnknownTransactionCommitResult itself: drivers add the label to a commit error that is a
 * network error, a retryable error (RetryableWriteError from the server), a write concern error
 * (except the certain ones: 100, 79) or MaxTimeMSExpired — so the server's part is to answer
 * with those shapes, and to accept the retried commit (ok). failCommand is mongod's test hook.
 */
describe("commit results the client cannot be sure of", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let coll: Collection<AnyDoc>;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient({ enableTestCommands: true })));
  afterAll(() => stopEmbeddedClient(server, client));
  beforeEach(async () => {
    server.reset();
    coll = client.db("txn").collection<AnyDoc>("commits");
    await coll.insertOne({ _id: "seed" });
  });

  const failCommit = (data: AnyDoc, times = 1): Promise<unknown> =>
    client.db("admin").command({ configureFailPoint: "failCommand", mode: { times }, data: { failCommands: ["commitTransaction"], ...data } });

  it("labels a commit write concern timeout UnknownTransactionCommitResult; the retried commit is ok and applies once", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.updateOne({ _id: "seed" }, { $inc: { n: 1 } }, { session });
    await failCommit({
      writeConcernError: { code: 64, codeName: "WriteConcernTimeout", errmsg: "waiting for replication timed out", errInfo: { wtimeout: true } },
    });
    const err = (await session.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(64);
    expect(err.hasErrorLabel("UnknownTransactionCommitResult")).toBe(true);
    // The commit did happen; committing again is allowed and answers ok.
    await session.commitTransaction();
    await session.endSession();
    expect(await coll.findOne({ _id: "seed" })).toEqual({ _id: "seed", n: 1 });
  });

  it("labels a commit's MaxTimeMSExpired UnknownTransactionCommitResult", async () => {
    const session = client.startSession();
    session.startTransaction({ maxCommitTimeMS: 1000 });
    await coll.insertOne({ _id: "x" }, { session });
    await failCommit({ errorCode: 50 });
    const err = (await session.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(50);
    expect(err.hasErrorLabel("UnknownTransactionCommitResult")).toBe(true);
    expect(await coll.findOne({ _id: "x" })).toBeNull(); // failCommand fails it before it runs
    await session.commitTransaction();
    await session.endSession();
    expect(await coll.findOne({ _id: "x" })).toEqual({ _id: "x" });
  });

  it("answers a retryable error of commit with RetryableWriteError, and the driver's own retry commits", async () => {
    const session = client.startSession();
    session.startTransaction();
    await coll.insertOne({ _id: "y" }, { session });
    await failCommit({ errorCode: 91 }); // ShutdownInProgress, once
    await session.commitTransaction(); // retried by the driver with w: "majority"
    await session.endSession();
    expect(await coll.findOne({ _id: "y" })).toEqual({ _id: "y" });

    const s2 = client.startSession();
    s2.startTransaction();
    await coll.insertOne({ _id: "z" }, { session: s2 });
    await failCommit({ errorCode: 91 }, 2); // fails the retry too
    const err = (await s2.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(91);
    expect(err.hasErrorLabel("RetryableWriteError")).toBe(true);
    expect(err.hasErrorLabel("UnknownTransactionCommitResult")).toBe(true);
    await s2.commitTransaction();
    await s2.endSession();
    expect(await coll.findOne({ _id: "z" })).toEqual({ _id: "z" });
  });

  it("withTransaction rides out a connection closed during commit", async () => {
    await failCommit({ closeConnection: true });
    const session = client.startSession();
    await session.withTransaction(async () => {
      await coll.updateOne({ _id: "seed" }, { $inc: { n: 1 } }, { session });
    });
    await session.endSession();
    expect(await coll.findOne({ _id: "seed" })).toEqual({ _id: "seed", n: 1 });
  });

  it("gives a certain write concern failure (w: 2 on one node) no UnknownTransactionCommitResult label; the commit still applied", async () => {
    const session = client.startSession();
    session.startTransaction({ writeConcern: { w: 2 } });
    await coll.insertOne({ _id: "w2" }, { session });
    const err = (await session.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(100);
    expect(err.hasErrorLabel("UnknownTransactionCommitResult")).toBe(false);
    await session.endSession();
    expect(await coll.findOne({ _id: "w2" })).toEqual({ _id: "w2" });
  });

  it("refuses configureFailPoint unless test commands are enabled", async () => {
    const { server: plain, client: c } = await startEmbeddedClient();
    try {
      const err = (await c
        .db("admin")
        .command({ configureFailPoint: "failCommand", mode: "off" })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(59);
    } finally {
      await stopEmbeddedClient(plain, c);
    }
  });
});
