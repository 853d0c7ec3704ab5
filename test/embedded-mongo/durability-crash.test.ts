/**
 * Crash safety of the real process (`npm run db -- --dbpath DIR`, the compiled CLI that
 * test/global-setup.ts builds): every write the driver saw acknowledged before a `kill -9` is
 * there after a restart, with its indexes, in both sync modes; a torn journal tail is cut with a warning; a corrupt
 * snapshot refuses the start and changes no file; a second process cannot open the same directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AnyDoc } from "../helpers/mongo.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Proc {
  child: ChildProcess;
  uri: string;
  stderr: () => string;
}

/** Starts the CLI; resolves with its URI, or rejects with its exit code and stderr. */
function startDb(dir: string, extra: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, ["dist/embedded-mongo/cli.js", "--port", "0", "--dbpath", dir, ...extra], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /mongodb:\/\/\S+/.exec(out);
      if (m) resolve({ child, uri: m[0], stderr: () => err });
    });
    child.once("exit", (code) => reject(Object.assign(new Error(`db exited with ${code}: ${err}`), { code, stderr: err })));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()));
}

const connect = (uri: string): Promise<MongoClient> => new MongoClient(uri, { retryWrites: false, serverSelectionTimeoutMS: 2000 }).connect();

async function fileHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = createHash("sha256")
      .update(await readFile(path.join(dir, f)))
      .digest("hex");
  return out;
}

describe("durability of the db process (kill -9)", () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  const clients: MongoClient[] = [];

  async function run(extra: string[] = []): Promise<Proc> {
    const p = await startDb(dir, extra);
    procs.push(p.child);
    return p;
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "edb-crash-"));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close(true).catch(() => {});
    for (const p of procs.splice(0)) {
      p.kill("SIGKILL");
      await exited(p);
    }
    await rm(dir, { recursive: true, force: true });
  });

  // The default mode acknowledges once the record is in the file (synced later: with the longest
  // interval, most acknowledged records are still unsynced at the kill); "always" once synced.
  it.each([
    ["--sync interval (default), records written before the reply", ["--journalCommitInterval", "500"]],
    ["--sync always, records synced before the reply", ["--sync", "always"]],
  ])("keeps every acknowledged insert, and its indexes, after kill -9 mid-stream: %s", async (_mode, syncArgs) => {
    // A small journal limit so snapshots and journal rotation happen during the stream too.
    const first = await run(["--journalLimitBytes", "16384", ...syncArgs]);
    expect(first.uri).toMatch(/^mongodb:\/\//);
    const client = await connect(first.uri);
    clients.push(client);
    const coll = client.db("crash").collection<AnyDoc>("messages");
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.createIndex({ expires: 1 }, { expireAfterSeconds: 3600 });
    const acked: number[] = [];
    let next = 0;
    let killed = false;
    const writer = async (): Promise<void> => {
      while (!killed) {
        const i = next++;
        try {
          await coll.insertOne({ _id: i, email: `u${i}@x.io`, expires: new Date(), body: "hello ".repeat(10) });
          acked.push(i);
        } catch {
          return; // the server is gone
        }
        if (acked.length >= 600 && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    await exited(first.child);
    await client.close(true);
    expect(first.child.signalCode).toBe("SIGKILL");

    const second = await run();
    const c2 = await connect(second.uri);
    clients.push(c2);
    const coll2 = c2.db("crash").collection<AnyDoc>("messages");
    const ids = new Set((await coll2.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id as number));
    const missing = acked.filter((i) => !ids.has(i));
    expect(missing).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(acked.length);
    const indexes = await coll2.listIndexes().toArray();
    expect(indexes.map((i) => i.name).sort()).toEqual(["_id_", "email_1", "expires_1"]);
    expect(indexes.find((i) => i.name === "expires_1")).toMatchObject({ expireAfterSeconds: 3600 });
    await expect(coll2.insertOne({ email: `u${acked[0]}@x.io` })).rejects.toMatchObject({ code: 11000 });
  });

  it("cuts a torn journal tail with a warning and keeps the records before it", async () => {
    const first = await run();
    const client = await connect(first.uri);
    clients.push(client);
    await client
      .db("torn")
      .collection<AnyDoc>("x")
      .insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
    await client.close();
    first.child.kill("SIGKILL");
    await exited(first.child);
    const journal = path.join(
      dir,
      (await readdir(dir)).find((f) => f.startsWith("journal-"))!,
    );
    const goodSize = (await stat(journal)).size;
    // Half a record: a length and checksum promising 200 bytes, then 7 of them.
    const torn = Buffer.alloc(15);
    torn.writeUInt32LE(200, 0);
    await appendFile(journal, torn);

    const second = await run();
    const c2 = await connect(second.uri);
    clients.push(c2);
    expect(await c2.db("torn").collection("x").countDocuments()).toBe(3);
    expect(second.stderr()).toMatch(/warning: journal .*truncated record.*cutting 15 bytes/);
    expect((await stat(journal)).size).toBe(goodSize);
    await c2.db("torn").collection<AnyDoc>("x").insertOne({ _id: 4 });
    expect(await c2.db("torn").collection("x").countDocuments()).toBe(4);
  });

  it("refuses to start on a corrupt snapshot and changes no file", async () => {
    const first = await run(["--journalLimitBytes", "2048"]);
    const client = await connect(first.uri);
    clients.push(client);
    const c = client.db("snap").collection<AnyDoc>("x");
    for (let i = 0; i < 10; i++) await c.insertMany(Array.from({ length: 20 }, (_, j) => ({ n: i * 20 + j, pad: "p".repeat(40) })));
    await client.close();
    first.child.kill("SIGTERM");
    await exited(first.child);
    const snapshot = path.join(dir, "snapshot.edb");
    const bytes = await readFile(snapshot);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(snapshot, bytes);
    const before = await fileHashes(dir);

    const err = (await startDb(dir).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/could not start: the snapshot .*snapshot\.edb is corrupt \(.*\); refusing to start so nothing is overwritten/);
    expect(await fileHashes(dir)).toEqual(before);
  });

  it("lets one process own a data directory: a second one exits with a clear message", async () => {
    const first = await run();
    const err = (await startDb(dir).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`is in use by another process (pid ${first.child.pid}`);
    // The owner is unaffected.
    const client = await connect(first.uri);
    clients.push(client);
    await client.db("lock").collection("x").insertOne({ ok: true });
  });
});
