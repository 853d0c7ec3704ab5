/**
 * The wire protocol below the driver, and bad input over raw sockets: after each malformed
 * message the server must still answer other clients (and usually the same one).
 */
import { Long } from "bson";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { RawWireClient, header, opMsg, opQuery } from "../helpers/raw-wire.js";
import type { AnyDoc } from "../helpers/mongo.js";

describe("wire protocol", () => {
  let db: EmbeddedMongo;
  let client: MongoClient;

  beforeAll(async () => {
    db = await startEmbeddedMongo();
    client = await new MongoClient(db.uri).connect();
  });
  afterAll(async () => {
    await client?.close();
    await db?.stop();
  });

  /** The server still serves a fresh driver client. */
  async function stillAnswers(): Promise<void> {
    const fresh = await new MongoClient(db.uri, { serverSelectionTimeoutMS: 5000 }).connect();
    try {
      expect(await fresh.db("admin").command({ ping: 1 })).toMatchObject({ ok: 1 });
    } finally {
      await fresh.close();
    }
  }

  it("answers the OP_QUERY handshake with OP_REPLY, then OP_MSG", async () => {
    const raw = await RawWireClient.connect(db.port);
    raw.write(opQuery(1, "admin.$cmd", { isMaster: 1 }));
    const hello = await raw.read();
    expect(hello?.opCode).toBe(1);
    expect(hello?.responseTo).toBe(1);
    expect(hello?.doc).toMatchObject({ ok: 1, ismaster: true, maxWireVersion: 21, setName: "rs0", logicalSessionTimeoutMinutes: 30 });
    expect(hello?.doc.topologyVersion).toBeUndefined();
    raw.write(opMsg(2, { ping: 1, $db: "admin" }));
    const pong = await raw.read();
    expect(pong).toMatchObject({ opCode: 2013, responseTo: 2, doc: { ok: 1 } });
    raw.close();
  });

  it("counts commands by name in serverStatus metrics.commands, as mongod does", async () => {
    const status = async () =>
      ((await client.db("admin").command({ serverStatus: 1 })) as { metrics: { commands: Record<string, { total: number }> } }).metrics.commands;
    const before = await status();
    const coll = client.db("counts").collection<AnyDoc>("c");
    await coll.insertOne({ _id: 1 });
    await coll.findOne({ _id: 1 });
    await coll.findOne({ _id: 2 });
    await coll.findOneAndUpdate({ _id: 1 }, { $inc: { n: 1 } });
    const after = await status();
    const delta = (name: string) => (after[name]?.total ?? 0) - (before[name]?.total ?? 0);
    expect([delta("insert"), delta("find"), delta("findAndModify"), delta("update")]).toEqual([1, 2, 1, 0]);
    // The first status call itself is counted by the time of the second.
    expect(delta("serverStatus")).toBe(1);
  });

  it("refuses OP_QUERY for anything but the handshake", async () => {
    const raw = await RawWireClient.connect(db.port);
    raw.write(opQuery(1, "x.$cmd", { find: "c" }));
    expect((await raw.read())?.doc).toMatchObject({ ok: 0, code: 352 });
    raw.close();
  });

  it("merges kind-1 sequences and honours moreToCome by not replying", async () => {
    const raw = await RawWireClient.connect(db.port);
    raw.write(opMsg(1, { insert: "seq", $db: "wire", ordered: true }, 0, [["documents", [{ _id: 1 }, { _id: 2 }]]]));
    expect((await raw.read())?.doc).toMatchObject({ ok: 1, n: 2 });
    // moreToCome (flag bit 1): the insert runs, no reply is sent; the next reply answers request 3.
    raw.write(opMsg(2, { insert: "seq", $db: "wire" }, 2, [["documents", [{ _id: 3 }]]]));
    raw.write(opMsg(3, { count: "seq", $db: "wire" }));
    const reply = await raw.read();
    expect(reply?.responseTo).toBe(3);
    expect(reply?.doc).toMatchObject({ ok: 1, n: 3 });
    raw.close();
  });

  it("gives standalone mode a URI and hello without a set name", async () => {
    const standalone = await startEmbeddedMongo({ replicaSet: false });
    try {
      expect(standalone.uri).not.toContain("replicaSet");
      const c = await new MongoClient(standalone.uri).connect();
      const hello = await c.db("admin").command({ hello: 1 });
      expect(hello.setName).toBeUndefined();
      expect(hello.isWritablePrimary).toBe(true);
      await c.db("x").collection("y").insertOne({ a: 1 });
      expect(await c.db("x").collection("y").countDocuments()).toBe(1);
      await c.close();
    } finally {
      await standalone.stop();
    }
  });

  it("accepts sessions and retryable writes (lsid, txnNumber)", async () => {
    const session = client.startSession();
    const coll = client.db("wire").collection("sessions");
    await coll.insertOne({ a: 1 }, { session });
    await coll.updateOne({ a: 1 }, { $set: { b: 2 } }, { session });
    expect(await coll.findOne({ a: 1 }, { session })).toMatchObject({ b: 2 });
    await session.endSession();
  });

  describe("bad input", () => {
    it("closes the connection on a length below the header size", async () => {
      const raw = await RawWireClient.connect(db.port);
      raw.write(header(8, 1, 2013));
      expect(await raw.read()).toBeNull();
      await stillAnswers();
    });

    it("closes the connection on an oversize message without buffering it", async () => {
      const raw = await RawWireClient.connect(db.port);
      raw.write(header(49_000_000, 1, 2013));
      expect(await raw.read()).toBeNull();
      await stillAnswers();
    });

    it("closes the connection on an unknown opcode", async () => {
      const raw = await RawWireClient.connect(db.port);
      const body = Buffer.alloc(8);
      raw.write(Buffer.concat([header(24, 1, 9999), body]));
      expect(await raw.read()).toBeNull();
      await stillAnswers();
    });

    it("answers invalid BSON with an error and keeps the connection", async () => {
      const raw = await RawWireClient.connect(db.port);
      const garbage = Buffer.from([0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x99, 0x99, 0x99, 0x99]);
      raw.write(Buffer.concat([header(16 + garbage.length, 1, 2013), garbage]));
      expect((await raw.read())?.doc).toMatchObject({ ok: 0, code: 22 });
      raw.write(opMsg(2, { ping: 1, $db: "admin" }));
      expect((await raw.read())?.doc).toMatchObject({ ok: 1 });
      raw.close();
    });

    it("answers a truncated BSON document (declared size past the message) with an error", async () => {
      const raw = await RawWireClient.connect(db.port);
      const body = Buffer.alloc(4 + 1 + 4);
      body.writeUInt32LE(0, 0);
      body[4] = 0;
      body.writeInt32LE(500, 5);
      raw.write(Buffer.concat([header(16 + body.length, 1, 2013), body]));
      expect((await raw.read())?.doc).toMatchObject({ ok: 0, code: 22 });
      raw.close();
      await stillAnswers();
    });

    it("answers an unknown section kind and unknown required flags with an error", async () => {
      const raw = await RawWireClient.connect(db.port);
      const msg = opMsg(1, { ping: 1, $db: "admin" });
      msg[20] = 7; // section kind
      raw.write(msg);
      expect((await raw.read())?.doc).toMatchObject({ ok: 0 });
      raw.write(opMsg(2, { ping: 1, $db: "admin" }, 1 << 4));
      expect((await raw.read())?.doc).toMatchObject({ ok: 0 });
      raw.close();
    });

    it("survives a connection dropped in the middle of a message", async () => {
      const raw = await RawWireClient.connect(db.port);
      const msg = opMsg(1, { insert: "half", $db: "wire", documents: [{ _id: 1 }] });
      raw.write(msg.subarray(0, msg.length - 5));
      raw.close();
      await stillAnswers();
      expect(await client.db("wire").collection("half").countDocuments()).toBe(0);
    });

    it("answers a command without $db with an error", async () => {
      const raw = await RawWireClient.connect(db.port);
      raw.write(opMsg(1, { ping: 1 }));
      expect((await raw.read())?.doc).toMatchObject({ ok: 0, code: 73 });
      raw.close();
    });
  });

  it("keeps cursors global to the server: getMore and killCursors on another connection", async () => {
    await client
      .db("wire")
      .collection<AnyDoc>("global")
      .insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
    const one = await RawWireClient.connect(db.port);
    const two = await RawWireClient.connect(db.port);
    one.write(opMsg(1, { find: "global", $db: "wire", batchSize: 3, sort: { _id: 1 } }));
    const first = await one.read({ promoteLongs: false });
    const cursor = first?.doc.cursor as { id: Long; firstBatch: Array<{ _id: number }> };
    expect(cursor.firstBatch.map((d) => d._id)).toEqual([0, 1, 2]);
    two.write(opMsg(2, { getMore: cursor.id, collection: "global", batchSize: 4, $db: "wire" }));
    const more = (await two.read())?.doc.cursor as { nextBatch: Array<{ _id: number }> };
    expect(more.nextBatch.map((d) => d._id)).toEqual([3, 4, 5, 6]);
    two.write(opMsg(3, { killCursors: "global", cursors: [cursor.id], $db: "wire" }));
    expect((await two.read())?.doc.cursorsKilled).toHaveLength(1);
    one.write(opMsg(4, { getMore: cursor.id, collection: "global", $db: "wire" }));
    expect((await one.read())?.doc).toMatchObject({ ok: 0, code: 43, codeName: "CursorNotFound" });
    one.close();
    two.close();
  });

  it("uses Int64 cursor ids", async () => {
    const coll = client.db("wire").collection("ids");
    await coll.insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
    const raw = await RawWireClient.connect(db.port);
    raw.write(opMsg(1, { find: "ids", $db: "wire", batchSize: 2 }));
    // Read without promotion, an Int64 arrives as Long; an int32 or double would be a number.
    const reply = await raw.read({ promoteLongs: false });
    const id = (reply?.doc.cursor as { id: unknown }).id;
    expect(id).toBeInstanceOf(Long);
    expect((id as Long).isZero()).toBe(false);
    raw.close();
  });
});
