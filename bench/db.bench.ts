/**
 * `npm run bench:db`: the embedded server in its own process, driven through the official
 * mongodb driver. Prints ops/s for insertOne and for findOne by _id and by a unique indexed
 * field at 1,000 and at 100,000 documents, with the 1k/100k ratio (near 1 = no scan), and the
 * server's RSS for 100,000 ≈200-byte documents, and transactions/s of the API's send shape
 * (findOneAndUpdate by _id + insert under a unique index) at both sizes.
 *
 * Baselines measured in the same run: a `ping` round trip (the protocol's floor per operation)
 * and a find on an unindexed field at both sizes (what a scan costs, for contrast).
 *
 * Then durability (--dbpath): insert throughput durable vs in memory in the same run (one
 * client in sequence, 16 concurrent clients sharing group commits, insertMany of 1,000), in the
 * default mode (journal written before each reply, synced every 100 ms) and with --sync always
 * (synced before each reply), the
 * restart time of a 100,000-document directory (journal only, and snapshot plus journal), and
 * disk bytes per document. Goals: concurrent durable inserts ≥ 50% of in memory; restart ≤ 3 s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { calculateObjectSize } from "bson";
import { MongoClient, ObjectId, type Collection, type Document } from "mongodb";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "../src/embedded-mongo/cli.js");

const OPS = 10_000;
const SCAN_OPS = 200;
const TXN_OPS = 300;
const SMALL = 1_000;
const LARGE = 100_000;
const RSS_LIMIT_MB = 200;

function makeDoc(i: number): Document {
  return {
    _id: new ObjectId(),
    email: `user${String(i).padStart(7, "0")}@example.com`,
    name: `User number ${i}`,
    bio: "Hello! I am using LetsApp. ".repeat(4),
    n: i,
    created_at: new Date(),
  };
}

async function startServer(args: string[] = []): Promise<{ uri: string; stop: () => void; child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, [cli, "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /mongodb:\/\/\S+.*\n/.exec(out);
      if (m) resolve(m[0]);
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  const uri = /mongodb:\/\/\S+/.exec(line)![0];
  return { uri, stop: () => child.kill("SIGTERM"), child, line };
}

async function timed(ops: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

async function findRates(coll: Collection, ids: ObjectId[], size: number): Promise<{ byId: number; byEmail: number; scan: number }> {
  const pick = (i: number): number => (i * 7919) % size;
  const byId = await timed(OPS, (i) => coll.findOne({ _id: ids[pick(i)] }));
  const byEmail = await timed(OPS, (i) => coll.findOne({ email: `user${String(pick(i)).padStart(7, "0")}@example.com` }));
  const scan = await timed(SCAN_OPS, (i) => coll.findOne({ n: pick(i) }));
  return { byId, byEmail, scan };
}

/**
 * Transactions per second of the API's send shape: findOneAndUpdate of a counter by _id plus an
 * insert under a unique index. A transaction's cost should not grow with the collection's size.
 */
async function txnRate(client: MongoClient, coll: Collection): Promise<number> {
  const counters = client.db("bench").collection<{ _id: string; seq: number }>("counters");
  await counters.updateOne({ _id: "c" }, { $setOnInsert: { seq: 0 } }, { upsert: true });
  const rate = await timed(TXN_OPS, async () => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        const c = await counters.findOneAndUpdate({ _id: "c" }, { $inc: { seq: 1 } }, { session, returnDocument: "after" });
        await coll.insertOne({ email: `txn${c!.seq}@example.com`, txn: true }, { session });
      });
    } finally {
      await session.endSession();
    }
  });
  await coll.deleteMany({ txn: true });
  return rate;
}

async function memory(client: MongoClient): Promise<{ rss: number; heap: number }> {
  const status = await client.db("admin").command({ serverStatus: 1 });
  return { rss: Number(status.mem.resident), heap: Number(status.mem.heapUsedMB) };
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(9);

async function main(): Promise<void> {
  const server = await startServer();
  const client = await new MongoClient(server.uri).connect();
  try {
    const admin = client.db("admin");
    const coll = client.db("bench").collection("users");
    await coll.createIndex({ email: 1 }, { unique: true });
    const memEmpty = await memory(client);

    const ping = await timed(OPS, () => admin.command({ ping: 1 }));
    const sample = makeDoc(0);
    const ids: ObjectId[] = [];

    // Grow to 1,000 with single inserts.
    for (let i = 0; i < SMALL; i++) {
      const d = makeDoc(i);
      ids.push(d._id as ObjectId);
      await coll.insertOne(d);
    }
    const small = await findRates(coll, ids, SMALL);
    const txnSmall = await txnRate(client, coll);

    // 10,000 timed insertOne, then bulk-load the rest up to 100,000.
    const insertRate = await timed(OPS, async (k) => {
      const d = makeDoc(SMALL + k);
      ids.push(d._id as ObjectId);
      await coll.insertOne(d);
    });
    for (let i = SMALL + OPS; i < LARGE; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, LARGE - i) }, (_, j) => makeDoc(i + j));
      for (const d of batch) ids.push(d._id as ObjectId);
      await coll.insertMany(batch, { ordered: false });
    }
    const count = await coll.estimatedDocumentCount();
    // What the documents take, measured before the find phase adds its transient garbage.
    const memLoaded = await memory(client);
    const large = await findRates(coll, ids, LARGE);
    const memAfter = await memory(client);
    const txnLarge = await txnRate(client, coll);

    const ratioId = small.byId / large.byId;
    const ratioEmail = small.byEmail / large.byEmail;
    const ratioScan = small.scan / large.scan;
    console.log(`embedded MongoDB-compatible server, mongodb driver, ${count.toLocaleString("en-US")} documents of ${calculateObjectSize(sample)} bytes`);
    console.log("");
    console.log(`baseline  ping round trip           ${fmt(ping)} ops/s`);
    console.log(`          insertOne (1k → 11k docs) ${fmt(insertRate)} ops/s`);
    console.log("");
    console.log("                                      at 1k docs   at 100k docs   1k/100k ratio");
    console.log(`findOne by _id                      ${fmt(small.byId)} ops/s ${fmt(large.byId)} ops/s   ${ratioId.toFixed(2)}`);
    console.log(`findOne by unique index (email)     ${fmt(small.byEmail)} ops/s ${fmt(large.byEmail)} ops/s   ${ratioEmail.toFixed(2)}`);
    console.log(`2-write transaction (send shape)    ${fmt(txnSmall)} txn/s ${fmt(txnLarge)} txn/s   ${(txnSmall / txnLarge).toFixed(2)}`);
    console.log(`baseline  findOne by unindexed n    ${fmt(small.scan)} ops/s ${fmt(large.scan)} ops/s   ${ratioScan.toFixed(2)}  (a scan, for contrast)`);
    console.log("");
    console.log(
      `server RSS: ${memEmpty.rss} MB empty (heap ${memEmpty.heap} MB); ${memLoaded.rss} MB with ${count.toLocaleString("en-US")} documents loaded (heap ${memLoaded.heap} MB; limit ${RSS_LIMIT_MB} MB)`,
    );
    console.log(`            ${memAfter.rss} MB after the 100k find phase (heap ${memAfter.heap} MB, includes garbage not yet collected)`);
    const ok = ratioId < 2 && ratioEmail < 2 && memLoaded.rss <= RSS_LIMIT_MB;
    console.log(ok ? "verdict: indexed finds do not scan; memory within the limit" : "verdict: FAILED (ratio >= 2 or memory over the limit)");
    process.exitCode = ok ? 0 : 1;
  } finally {
    await client.close();
    server.stop();
  }
}

/** Insert rates of one server: sequential insertOne, 16 concurrent clients, insertMany(1000). */
async function insertRates(args: string[]): Promise<{ seq: number; conc: number; many: number }> {
  const server = await startServer(args);
  const client = await new MongoClient(server.uri, { maxPoolSize: 32 }).connect();
  try {
    const coll = client.db("bench").collection("ins");
    await coll.createIndex({ email: 1 }, { unique: true });
    let n = 0;
    // Warm-up, untimed: the client's and the server's JIT, so the server measured first is not
    // at a disadvantage (the durable/memory ratio is the result).
    await timed(2_000, () => coll.insertOne(makeDoc(n++)));
    await timed(5, () =>
      coll.insertMany(
        Array.from({ length: 1000 }, () => makeDoc(n++)),
        { ordered: false },
      ),
    );
    const seq = await timed(3_000, () => coll.insertOne(makeDoc(n++)));
    const CONC = 16;
    const PER = 1_000;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        for (let i = 0; i < PER; i++) await coll.insertOne(makeDoc(n++));
      }),
    );
    const conc = (CONC * PER) / (Number(process.hrtime.bigint() - start) / 1e9);
    const many =
      (await timed(20, () =>
        coll.insertMany(
          Array.from({ length: 1000 }, () => makeDoc(n++)),
          { ordered: false },
        ),
      )) * 1000;
    return { seq, conc, many };
  } finally {
    await client.close();
    server.stop();
    await new Promise((r) => server.child.once("exit", r));
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(path.join(dir, f))).size;
  return total;
}

/** Loads 100,000 documents into a data directory, then times a restart (spawn → listening). */
async function restart(limitArgs: string[]): Promise<{ seconds: number; recovery: string; bytesPerDoc: number; files: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), "edb-bench-"));
  try {
    const server = await startServer(["--dbpath", dir, ...limitArgs]);
    const client = await new MongoClient(server.uri).connect();
    const coll = client.db("bench").collection("users");
    await coll.createIndex({ email: 1 }, { unique: true });
    for (let i = 0; i < LARGE; i += 1000)
      await coll.insertMany(
        Array.from({ length: 1000 }, (_, j) => makeDoc(i + j)),
        { ordered: false },
      );
    await client.close();
    server.stop();
    await new Promise((r) => server.child.once("exit", r));
    const bytesPerDoc = (await dirBytes(dir)) / LARGE;
    const files = await readdir(dir);
    const start = process.hrtime.bigint();
    const again = await startServer(["--dbpath", dir]);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const c2 = await new MongoClient(again.uri).connect();
    const count = await c2.db("bench").collection("users").countDocuments();
    await c2.close();
    again.stop();
    await new Promise((r) => again.child.once("exit", r));
    if (count !== LARGE) throw new Error(`restart found ${count} documents, expected ${LARGE}`);
    const m = /recovered in ([\d.]+) s, ([\d.]+) s CPU/.exec(again.line);
    const recovery = m ? `${m[1]} s, ${m[2]} s CPU` : "?";
    return { seconds, recovery, bytesPerDoc, files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function durability(): Promise<boolean> {
  const dir = await mkdtemp(path.join(tmpdir(), "edb-bench-"));
  const dir2 = await mkdtemp(path.join(tmpdir(), "edb-bench-"));
  let mem: { seq: number; conc: number; many: number };
  let dur: { seq: number; conc: number; many: number };
  let always: { seq: number; conc: number; many: number } | null;
  try {
    mem = await insertRates([]);
    dur = await insertRates(["--dbpath", dir]);
    // null when the server has no --sync option (a run of an older build, for a baseline).
    always = await insertRates(["--dbpath", dir2, "--sync", "always"]).catch(() => null);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(dir2, { recursive: true, force: true });
  }
  const pct = (a: number, b: number): string => `${Math.round((a / b) * 100)}%`.padStart(5);
  console.log("");
  console.log("durability (--dbpath). default: the journal record is written before the reply (survives kill -9),");
  console.log("synced (fdatasync) within 100 ms, before the reply for j:true. --sync always: synced before every reply.");
  console.log("                                      in memory      durable   durable/memory   --sync always  always/memory");
  const row = (label: string, unit: string, key: "seq" | "conc" | "many"): string =>
    `${label}${fmt(mem[key])} ${unit} ${fmt(dur[key])} ${unit} ${pct(dur[key], mem[key])}       ${always ? `${fmt(always[key])} ${unit} ${pct(always[key], mem[key])}` : "n/a (no --sync option)"}`;
  console.log(row("insertOne, 1 client in sequence     ", "ops/s", "seq"));
  console.log(row("insertOne, 16 concurrent clients    ", "ops/s", "conc"));
  console.log(row("insertMany of 1,000                 ", "docs/s", "many"));
  const journal = await restart([]);
  const snap = await restart(["--journalLimitBytes", String(4 * 1024 * 1024)]);
  console.log(`restart with 100,000 documents (process start → listening; of which loading the data):`);
  console.log(`  ${journal.seconds.toFixed(2)} s (${journal.recovery}) from the journal alone (${journal.files.join(", ")})`);
  console.log(`  ${snap.seconds.toFixed(2)} s (${snap.recovery}) from snapshot + journal (${snap.files.join(", ")})   goal ≤ 3 s`);
  console.log(
    `  machine load average while measuring: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} on ${cpus().length} cores`,
  );
  console.log(
    `disk per document: ${Math.round(journal.bytesPerDoc)} bytes (journal), ${Math.round(snap.bytesPerDoc)} bytes (snapshot + journal); BSON size ${calculateObjectSize(makeDoc(0))}`,
  );
  const ok = dur.seq / mem.seq >= 0.5 && dur.conc / mem.conc >= 0.5 && dur.many / mem.many >= 0.5 && journal.seconds <= 3 && snap.seconds <= 3;
  console.log(
    ok
      ? "verdict: durable inserts ≥ 50% of in memory (sequential, concurrent, batched); restart ≤ 3 s"
      : "verdict: FAILED (durable < 50% of in memory, or restart > 3 s)",
  );
  return ok;
}

if (process.argv.includes("--durability-only")) {
  process.exitCode = (await durability()) ? 0 : 1;
} else {
  await main();
  const ok = await durability();
  if (!ok) process.exitCode = 1;
}
