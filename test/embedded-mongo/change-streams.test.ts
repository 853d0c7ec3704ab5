/**
 * Change streams through the official driver and mongoose: every event type with MongoDB's
 * shapes, updateLookup, pre-images, pipelines, resume tokens across clients, history lost on
 * a bounded log, transactions' writes appearing at commit, and empty awaitData batches.
 */
import { MongoClient, MongoServerError, type ChangeStream, type ChangeStreamDocument, type Collection } from "mongodb";
import mongoose from "mongoose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, stopEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";
import { until } from "../helpers/wait.js";

type Event = ChangeStreamDocument<AnyDoc> & Record<string, unknown>;

/** Opens the stream on the server (the driver sends its aggregate lazily). */
async function opened<T extends ChangeStream<AnyDoc>>(cs: T): Promise<T> {
  expect(await cs.tryNext()).toBeNull();
  return cs;
}

async function take(cs: ChangeStream<AnyDoc>, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) out.push((await cs.next()) as Event);
  return out;
}

describe("change streams", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let coll: Collection<AnyDoc>;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient()));
  afterAll(() => stopEmbeddedClient(server, client));
  beforeEach(() => {
    server.reset();
    coll = client.db("cs").collection<AnyDoc>("items");
  });

  it("reports insert, update, replace, delete, then drop and invalidate, in MongoDB's shapes", async () => {
    await coll.insertOne({ _id: 0 });
    const cs = await opened(coll.watch([], { maxAwaitTimeMS: 200 }));
    await coll.insertOne({ _id: 1, name: "a", tags: ["x"], sub: { k: 1, gone: true } });
    await coll.updateOne({ _id: 1 }, { $set: { name: "b", "sub.k": 2 }, $unset: { "sub.gone": "" }, $push: { tags: "y" } } as never);
    await coll.replaceOne({ _id: 1 }, { name: "c" });
    await coll.deleteOne({ _id: 1 });
    await coll.drop();
    const [ins, upd, rep, del, drop, inv] = await take(cs, 6);
    expect(ins).toMatchObject({
      operationType: "insert",
      ns: { db: "cs", coll: "items" },
      documentKey: { _id: 1 },
      fullDocument: { _id: 1, name: "a", tags: ["x"], sub: { k: 1, gone: true } },
    });
    expect(ins._id).toEqual({ _data: expect.any(String) });
    expect(ins.clusterTime?.constructor.name).toBe("Timestamp");
    expect(ins.wallTime).toBeInstanceOf(Date);
    expect(upd).toMatchObject({
      operationType: "update",
      documentKey: { _id: 1 },
      updateDescription: { updatedFields: { name: "b", "sub.k": 2, "tags.1": "y" }, removedFields: ["sub.gone"], truncatedArrays: [] },
    });
    expect(upd.fullDocument).toBeUndefined();
    expect(rep).toMatchObject({ operationType: "replace", fullDocument: { _id: 1, name: "c" } });
    expect(del).toMatchObject({ operationType: "delete", documentKey: { _id: 1 } });
    expect(del.fullDocument).toBeUndefined();
    expect(drop).toMatchObject({ operationType: "drop", ns: { db: "cs", coll: "items" } });
    expect(inv.operationType).toBe("invalidate");
    await cs.close();
  });

  it("watches a database (rename included) and the whole deployment", async () => {
    await coll.insertOne({ _id: 0 });
    const dbStream = await opened(client.db("cs").watch([], { maxAwaitTimeMS: 200 }));
    const all = await opened(client.watch([], { maxAwaitTimeMS: 200 }));
    await client.db("cs").collection<AnyDoc>("other").insertOne({ _id: "o" });
    await client.db("cs2").collection<AnyDoc>("elsewhere").insertOne({ _id: "e" });
    await client.db("cs").renameCollection("items", "renamed");
    await client.db("cs").collection<AnyDoc>("renamed").insertOne({ _id: 2 });
    const events = await take(dbStream, 3);
    expect(events.map((e) => e.operationType)).toEqual(["insert", "rename", "insert"]);
    expect(events[1]).toMatchObject({ ns: { db: "cs", coll: "items" }, to: { db: "cs", coll: "renamed" } });
    expect(events[2]).toMatchObject({ ns: { db: "cs", coll: "renamed" }, documentKey: { _id: 2 } });
    const cluster = await take(all, 2);
    expect(cluster.map((e) => (e as { ns: { db: string } }).ns.db)).toEqual(["cs", "cs2"]);
    await dbStream.close();
    await all.close();
  });

  it("looks up the current document for updates with fullDocument: updateLookup", async () => {
    await coll.insertOne({ _id: 1, n: 0 });
    const cs = await opened(coll.watch([], { fullDocument: "updateLookup", maxAwaitTimeMS: 200 }));
    await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
    const [ev] = await take(cs, 1);
    expect(ev).toMatchObject({ operationType: "update", fullDocument: { _id: 1, n: 1 } });
    await cs.close();
  });

  it("gives pre-images when the collection enables changeStreamPreAndPostImages (create or collMod)", async () => {
    const db = client.db("cs");
    await db.createCollection("pre", { changeStreamPreAndPostImages: { enabled: true } });
    await db.collection<AnyDoc>("plain").insertOne({ _id: 1, v: "old" });
    await db.collection<AnyDoc>("pre").insertOne({ _id: 1, v: "old" });
    const cs = await opened(db.watch([], { fullDocumentBeforeChange: "whenAvailable", maxAwaitTimeMS: 200 }));
    await db.collection<AnyDoc>("pre").updateOne({ _id: 1 }, { $set: { v: "new" } });
    await db.collection<AnyDoc>("plain").updateOne({ _id: 1 }, { $set: { v: "new" } });
    await db.command({ collMod: "plain", changeStreamPreAndPostImages: { enabled: true } });
    await db.collection<AnyDoc>("plain").deleteOne({ _id: 1 });
    const [a, b, c] = await take(cs, 3);
    expect(a).toMatchObject({ ns: { coll: "pre" }, fullDocumentBeforeChange: { _id: 1, v: "old" } });
    expect(b).toMatchObject({ ns: { coll: "plain" }, fullDocumentBeforeChange: null });
    expect(c).toMatchObject({ operationType: "delete", ns: { coll: "plain" }, fullDocumentBeforeChange: { _id: 1, v: "new" } });
    await cs.close();
  });

  it("applies a $match / $project pipeline", async () => {
    const cs = await opened(
      coll.watch([{ $match: { operationType: "insert", "fullDocument.keep": true } }, { $project: { fullDocument: 1 } }], { maxAwaitTimeMS: 200 }),
    );
    await coll.insertMany([
      { _id: 1, keep: false },
      { _id: 2, keep: true },
    ]);
    await coll.deleteOne({ _id: 2 });
    await coll.insertOne({ _id: 3, keep: true });
    const events = await take(cs, 2);
    expect(events.map((e) => (e as { fullDocument: AnyDoc }).fullDocument._id)).toEqual([2, 3]);
    expect(events[0].operationType).toBeUndefined();
    await cs.close();
  });

  it("resumes after a token from another connection, and answers empty waits with a resume token", async () => {
    const cs = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
    await coll.insertOne({ _id: 1 });
    const [first] = await take(cs, 1);
    await cs.close();
    const idle = cs.resumeToken;
    expect(idle).toEqual(first._id);
    // Written while nobody watches; a new client resumes after the first event.
    await coll.insertMany([{ _id: 2 }, { _id: 3 }]);
    const other = await new MongoClient(server.uri).connect();
    try {
      const resumed = other.db("cs").collection<AnyDoc>("items").watch([], { resumeAfter: first._id, maxAwaitTimeMS: 100 });
      const events = await take(resumed, 2);
      expect(events.map((e) => (e as { documentKey: AnyDoc }).documentKey._id)).toEqual([2, 3]);
      // Nothing more: an empty batch still moves the resume token on.
      expect(await resumed.tryNext()).toBeNull();
      expect(resumed.resumeToken).toBeTruthy();
      await resumed.close();
    } finally {
      await other.close();
    }
  });

  it("starts at an operation time: the events at or after it, each with its own cluster time", async () => {
    await coll.insertOne({ _id: 1 });
    const cs = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
    await coll.insertOne({ _id: 2 });
    await coll.insertOne({ _id: 3 });
    const [second, third] = await take(cs, 2);
    await cs.close();
    expect(third.clusterTime!.comp(second.clusterTime!)).toBeGreaterThan(0);
    const from = coll.watch([], { startAtOperationTime: third.clusterTime, maxAwaitTimeMS: 100 });
    const [again] = await take(from, 1);
    expect(again).toMatchObject({ operationType: "insert", documentKey: { _id: 3 } });
    expect(again.clusterTime!.equals(third.clusterTime!)).toBe(true);
    expect(again.wallTime).toEqual(third.wallTime);
    await from.close();
  });

  it("the driver resumes on its own when the server loses the stream's cursor", async () => {
    const cs = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
    await coll.insertOne({ _id: 1 });
    await take(cs, 1);
    // Kill the server-side cursor: the next getMore answers CursorNotFound (resumable), and the
    // driver re-opens the stream with its cached resume token, missing nothing.
    const id = (cs as unknown as { cursor: { id: unknown } }).cursor.id;
    await client.db("cs").command({ killCursors: "items", cursors: [id] });
    await coll.insertOne({ _id: 2 });
    const [next] = await take(cs, 1);
    expect(next).toMatchObject({ operationType: "insert", documentKey: { _id: 2 } });
    await cs.close();
  });

  it("shows a transaction's writes at commit, with its lsid and txnNumber, and nothing of an aborted one", async () => {
    const cs = await opened(coll.watch([], { maxAwaitTimeMS: 200 }));
    const session = client.startSession();
    session.startTransaction();
    await coll.insertOne({ _id: "aborted" }, { session });
    await session.abortTransaction();
    session.startTransaction();
    await coll.insertOne({ _id: "t1" }, { session });
    await coll.insertOne({ _id: "t2" }, { session });
    expect(await cs.tryNext()).toBeNull();
    await session.commitTransaction();
    await session.endSession();
    const events = await take(cs, 2);
    expect(events.map((e) => (e as { documentKey: AnyDoc }).documentKey._id)).toEqual(["t1", "t2"]);
    expect(events[0].lsid).toBeTruthy();
    expect(events[0].txnNumber).toBeTruthy();
    await cs.close();
  });

  it("mongoose Model.watch() delivers changes", async () => {
    const conn = await mongoose.createConnection(server.uri, { dbName: "cs_mongoose" }).asPromise();
    try {
      const Note = conn.model("Note", new mongoose.Schema({ text: String }));
      await Note.init();
      const stream = Note.watch([], { maxAwaitTimeMS: 200 });
      const got = new Promise<Event>((resolve) => stream.on("change", (e: Event) => resolve(e)));
      // Write until the lazily opened stream reports one (each write is a fresh document).
      let event: Event | null = null;
      got.then(
        (e) => (event = e),
        () => {},
      );
      let i = 0;
      await until(async () => event !== null || (await Note.create({ text: `n${i++}` }), false), "a change event from Model.watch()", {
        intervalMs: 50,
        tries: 100,
      });
      expect(event).toMatchObject({ operationType: "insert", ns: { db: "cs_mongoose", coll: "notes" } });
      await stream.close();
    } finally {
      await conn.close();
    }
  });
});

describe("change stream history", () => {
  it("refuses a resume token that aged out of the bounded log with ChangeStreamHistoryLost (286)", async () => {
    const { server, client } = await startEmbeddedClient({ changeLogSize: 5 });
    try {
      const coll = client.db("h").collection<AnyDoc>("c");
      const cs = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
      await coll.insertOne({ _id: 0 });
      const [first] = await take(cs, 1);
      await cs.close();
      for (let i = 1; i <= 10; i++) await coll.insertOne({ _id: i });
      const late = coll.watch([], { resumeAfter: first._id });
      const err = await late.tryNext().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      expect((err as MongoServerError).code).toBe(286);
      await late.close();
    } finally {
      await stopEmbeddedClient(server, client);
    }
  });
});
