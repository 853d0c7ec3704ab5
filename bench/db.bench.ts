/**
 * `npm run bench:db`: the embedded server in its own process, driven through the official
 * mongodb driver. Prints ops/s for insertOne and for findOne by _id and by a unique indexed
 * field at 1,000 and at 100,000 documents, with the 1k/100k ratio (near 1 = no scan), and the
 * server's RSS for 100,000 ≈200-byte documents.
 *
 * Baselines measured in the same run: a `ping` round trip (the protocol's floor per operation)
 * and a find on an unindexed field at both sizes (what a scan costs, for contrast).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { calculateObjectSize } from "bson";
import { MongoClient, ObjectId, type Collection, type Document } from "mongodb";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "../src/embedded-mongo/cli.js");

const OPS = 10_000;
const SCAN_OPS = 200;
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

async function startServer(): Promise<{ uri: string; stop: () => void }> {
  const child = spawn(process.execPath, [cli, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const uri = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /mongodb:\/\/\S+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { uri, stop: () => child.kill("SIGTERM") };
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
    console.log(`baseline  findOne by unindexed n    ${fmt(small.scan)} ops/s ${fmt(large.scan)} ops/s   ${ratioScan.toFixed(2)}  (a scan, for contrast)`);
    console.log("");
    console.log(`server RSS: ${memEmpty.rss} MB empty (heap ${memEmpty.heap} MB); ${memLoaded.rss} MB with ${count.toLocaleString("en-US")} documents loaded (heap ${memLoaded.heap} MB; limit ${RSS_LIMIT_MB} MB)`);
    console.log(`            ${memAfter.rss} MB after the 100k find phase (heap ${memAfter.heap} MB, includes garbage not yet collected)`);
    const ok = ratioId < 2 && ratioEmail < 2 && memLoaded.rss <= RSS_LIMIT_MB;
    console.log(ok ? "verdict: indexed finds do not scan; memory within the limit" : "verdict: FAILED (ratio >= 2 or memory over the limit)");
    process.exitCode = ok ? 0 : 1;
  } finally {
    await client.close();
    server.stop();
  }
}

await main();
