/**
 * Durability in one process: what a server with a data directory wrote is there after a
 * restart — documents, updates, deletes, collection options, indexes (unique and TTL still
 * enforced), renames — through the journal alone and through a snapshot plus journal; and one
 * data directory has one owner. The crash tests (kill -9 of the real process) are in
 * durability-crash.test.ts.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MongoClient } from "mongodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirLockedError, startEmbeddedMongo, type EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { startEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";
import { until } from "../helpers/wait.js";

describe("durable data directory", () => {
  let dir: string;
  const open: { server: EmbeddedMongo; client: MongoClient }[] = [];

  async function start(
    opts: { journalLimitBytes?: number; ttlSweepMs?: number; sync?: "interval" | "always"; commitIntervalMs?: number } = {},
  ): Promise<{ server: EmbeddedMongo; client: MongoClient }> {
    const { server, client } = await startEmbeddedClient({ dbPath: dir, ...opts });
    const pair = { server, client };
    open.push(pair);
    return pair;
  }

  async function stop(pair: { server: EmbeddedMongo; client: MongoClient }): Promise<void> {
    await pair.client.close();
    await pair.server.stop();
    open.splice(open.indexOf(pair), 1);
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "edb-durable-"));
  });
  afterEach(async () => {
    for (const p of open.splice(0)) {
      await p.client.close();
      await p.server.stop();
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps inserts, updates, deletes, options, indexes and renames across a restart", async () => {
    const first = await start();
    const db = first.client.db("app");
    await db.createCollection("notes", { validator: { n: { $type: "int" } } });
    const users = db.collection<AnyDoc>("users");
    await users.createIndex({ email: 1 }, { unique: true });
    await users.createIndex({ name: 1 });
    await users.insertMany([
      { _id: 1, email: "a@x.io", name: "A", tags: ["x"], at: new Date(5) },
      { _id: 2, email: "b@x.io", name: "B" },
      { _id: 3, email: "c@x.io" },
    ]);
    await users.updateOne({ _id: 1 }, { $set: { name: "Ann" }, $push: { tags: "y" } } as AnyDoc);
    await users.replaceOne({ _id: 2 }, { email: "b2@x.io", name: "Bob" });
    await users.deleteOne({ _id: 3 });
    await users.dropIndex("name_1");
    await db.collection("tmp").insertOne({ k: 1 });
    await db.collection("tmp").rename("kept");
    await db.collection("gone").insertOne({ k: 1 });
    await db.collection("gone").drop();
    expect(first.server.dbPath).toBe(path.resolve(dir));
    await stop(first);

    const second = await start();
    expect(second.server.recoveredDocuments).toBe(3);
    const db2 = second.client.db("app");
    const u2 = db2.collection<AnyDoc>("users");
    expect(await u2.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, email: "a@x.io", name: "Ann", tags: ["x", "y"], at: new Date(5) },
      { _id: 2, email: "b2@x.io", name: "Bob" },
    ]);
    expect((await u2.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_", "email_1"]);
    await expect(u2.insertOne({ email: "a@x.io" })).rejects.toMatchObject({ code: 11000 });
    const names = (await db2.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(["kept", "notes", "users"]);
    const notes = (await db2.listCollections({ name: "notes" }).toArray())[0] as AnyDoc;
    expect(notes.options).toEqual({ validator: { n: { $type: "int" } } });
  });

  it("restores TTL indexes: expired documents are removed after a restart", async () => {
    const first = await start({ ttlSweepMs: 3_600_000 });
    const c = first.client.db("app").collection<AnyDoc>("sessions");
    await c.createIndex({ expires: 1 }, { expireAfterSeconds: 0 });
    await c.insertMany([
      { _id: "old", expires: new Date(Date.now() - 60_000) },
      { _id: "new", expires: new Date(Date.now() + 3_600_000) },
    ]);
    await stop(first);

    const second = await start({ ttlSweepMs: 50 });
    const c2 = second.client.db("app").collection<AnyDoc>("sessions");
    // Wait for the sweep (an event: the document's removal), not a fixed time.
    await until(async () => (await c2.countDocuments({ _id: "old" })) === 0, "the TTL sweep to remove the expired document", { intervalMs: 20 });
    expect(await c2.find().toArray()).toEqual([{ _id: "new", expires: expect.any(Date) }]);
  });

  it("snapshots when the journal grows, deletes the old journal, and recovers from both", async () => {
    const first = await start({ journalLimitBytes: 4096 });
    const c = first.client.db("app").collection<AnyDoc>("items");
    await c.createIndex({ n: 1 }, { unique: true });
    for (let i = 0; i < 20; i++) {
      await c.insertMany(Array.from({ length: 10 }, (_, j) => ({ _id: i * 10 + j, n: i * 10 + j, pad: "x".repeat(50) })));
    }
    await c.updateMany({ n: { $lt: 5 } }, { $set: { low: true } });
    await c.deleteMany({ n: { $gte: 195 } });
    await stop(first);
    const files = await readdir(dir);
    expect(files).toContain("snapshot.edb");
    // Snapshots replaced the early journal files: only the latest one (or two) remain.
    expect(files.filter((f) => f.startsWith("journal-")).length).toBeLessThanOrEqual(2);
    expect(files).not.toContain("journal-0000000001.edb");

    const second = await start();
    const c2 = second.client.db("app").collection<AnyDoc>("items");
    expect(await c2.countDocuments()).toBe(195);
    expect(await c2.countDocuments({ low: true })).toBe(5);
    await expect(c2.insertOne({ n: 7 })).rejects.toMatchObject({ code: 11000 });
  });

  it("writes the journal before each reply, and syncs before it only when the write concern (or --sync always) asks", async () => {
    // An interval too long to elapse during the test: only a waiting writer can cause a sync.
    const lazy = await start({ commitIntervalMs: 3_600_000 });
    const c = lazy.client.db("app").collection<AnyDoc>("wc");
    await c.insertOne({ _id: 1 });
    let p = lazy.server.journalProgress()!;
    expect(p.written).toBe(p.appended);
    expect(p.synced).toBeLessThan(p.appended);
    await c.insertOne({ _id: 2 }, { writeConcern: { j: true } });
    p = lazy.server.journalProgress()!;
    expect(p.synced).toBe(p.appended);
    await c.insertOne({ _id: 3 });
    expect(lazy.server.journalProgress()!.synced).toBeLessThan(lazy.server.journalProgress()!.appended);
    await c.updateOne({ _id: 3 }, { $set: { a: 1 } }, { writeConcern: { w: "majority" } });
    p = lazy.server.journalProgress()!;
    expect(p.synced).toBe(p.appended);
    await stop(lazy);

    const always = await start({ sync: "always", commitIntervalMs: 3_600_000 });
    const c2 = always.client.db("app").collection<AnyDoc>("wc");
    expect(await c2.countDocuments()).toBe(3);
    await c2.insertOne({ _id: 4 });
    p = always.server.journalProgress()!;
    expect(p.appended).toBeGreaterThan(0);
    expect(p.synced).toBe(p.appended);
  });

  it("gives one data directory to one server: a second start fails clearly", async () => {
    await start();
    await expect(startEmbeddedMongo({ dbPath: dir })).rejects.toThrow(DataDirLockedError);
    await expect(startEmbeddedMongo({ dbPath: dir })).rejects.toThrow(/already in use/);
  });

  it("stays in memory without dbPath or with :memory:", async () => {
    const server = await startEmbeddedMongo({ dbPath: ":memory:" });
    expect(server.dbPath).toBeNull();
    await server.stop();
    expect(await readdir(dir)).toEqual([]);
  });
});
