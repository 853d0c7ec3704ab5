/**
 * The server side of `npm run bench:fanout`, in its own process so its memory is its own.
 *   mode "api": the API on the database at FANOUT_DB_URI (the embedded server in a process of
 *               its own, so neither its memory nor its CPU is counted as the API's); makes a
 *               group of 1,024 members with sessions and access tokens, prints them as one JSON
 *               line, then answers on stdin "mem", "snap <file>" (a heap snapshot), "prof-start"
 *               and "prof-stop <file>" (a CPU profile of the part in between).
 *   mode "raw": a bare `ws` server that broadcasts each POSTed body to every client (baseline).
 */
import "reflect-metadata";
import http from "node:http";
import readline from "node:readline";
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import v8 from "node:v8";
import { WebSocketServer, type WebSocket } from "ws";
import { loadConfig } from "../src/config.js";
import { connectDatabase } from "../src/database.js";
import { createServer } from "../src/server.js";
import { MemoryMailer } from "../src/mail/mailer.js";
import { benchUsers } from "./common.js";

const MEMBERS = 1024;

function memory(): { rss: number; heapUsed: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

let profiler: Session | null = null;

async function profile(command: "prof-start" | "prof-stop", file?: string): Promise<void> {
  if (command === "prof-start") {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  } else if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    writeFileSync(file!, JSON.stringify(profile));
    profiler.disconnect();
    profiler = null;
  }
  console.log(JSON.stringify({ [command]: file ?? true }));
}

function answerMemory(): void {
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const [command, file] = line.trim().split(" ");
    if (command === "prof-start" || command === "prof-stop") return void profile(command, file);
    if (command === "snap" && file) {
      global.gc?.();
      v8.writeHeapSnapshot(file);
      console.log(JSON.stringify({ snap: file }));
      return;
    }
    if (command !== "mem") return;
    // Settle first: collect (twice, letting finalizers run) so garbage is not counted.
    void (async () => {
      for (let i = 0; i < 3; i++) {
        global.gc?.();
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(JSON.stringify({ mem: memory() }));
    })();
  });
}

async function api(): Promise<void> {
  // Production limits and defaults. The database is the one at FANOUT_DB_URI (or, without it, the
  // embedded server in this process: uri null), so the URI production config insists on is never dialled.
  const config = loadConfig({
    NODE_ENV: "production",
    MONGODB_URI: "mongodb://127.0.0.1:1/unused",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-00",
    LOG_LEVEL: "silent",
    PORT: "0",
  });
  const db = await connectDatabase({ uri: process.env.FANOUT_DB_URI || null, dbName: "bench" });
  const server = await createServer(config, db, { mailer: new MemoryMailer() });
  const port = await server.listen(0);
  const { users, tokens } = await benchUsers(db, server.services.tokens, "bench", MEMBERS);
  const owner = users[0]._id.toHexString();
  const group = await server.services.groups.create(owner, { name: "bench", memberIds: users.slice(1).map((u) => u._id.toHexString()) });
  console.log(JSON.stringify({ ready: { port, groupId: group._id.toHexString(), tokens }, mem: memory() }));
  answerMemory();
}

async function raw(): Promise<void> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  const clients = new Set<WebSocket>();
  wss.on("connection", (ws) => {
    clients.add(ws);
    ws.on("close", () => clients.delete(ws));
  });
  httpServer.on("request", (req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      for (const c of clients) c.send(body);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const port = (httpServer.address() as { port: number }).port;
  console.log(JSON.stringify({ ready: { port }, mem: memory() }));
  answerMemory();
}

// SIGINT exits normally so a --cpu-prof profile is written.
process.on("SIGINT", () => process.exit(0));
await (process.argv[2] === "raw" ? raw() : api());
