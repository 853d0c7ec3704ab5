/**
 * The processes of `npm run bench:load`, each in its own process so its CPU and memory are its own:
 *   mode "db":  the embedded database (a single-node replica set, in memory, transactions on);
 *               prints `{ ready: { uri } }`.
 *   mode "api": one API instance on that database and Redis (REDIS_URL), production settings;
 *               prints `{ ready: { port } }`. With LOAD_FIXTURE=N it first makes the fixture:
 *               N users with sessions and tokens, N/10 groups of 10 and N/2 direct conversations
 *               between accepted contacts (every user in one of each), printed in `ready`.
 * SIGINT exits normally so a --cpu-prof profile is written.
 */
import "reflect-metadata";
import { Types } from "mongoose";
import { loadConfig } from "../src/config.js";
import { connectDatabase } from "../src/database.js";
import { startEmbeddedMongo } from "../src/embedded-mongo/index.js";
import { createServer } from "../src/server.js";
import { MemoryMailer } from "../src/mail/mailer.js";
import { ContactStatus } from "../src/modules/contact/contact.entity.js";
import { benchUsers } from "./common.js";

/** One conversation of the fixture: members by user index; groups send by groupId, directs by recipientId. */
export interface FixtureConversation {
  id: string;
  kind: "direct" | "group";
  members: number[];
  groupId?: string;
}

export interface Fixture {
  userIds: string[];
  tokens: string[];
  conversations: FixtureConversation[];
}

const DB_NAME = "bench_load";

async function db(): Promise<void> {
  const mongo = await startEmbeddedMongo();
  console.log(JSON.stringify({ ready: { uri: mongo.uri } }));
}

async function api(uri: string): Promise<void> {
  const config = loadConfig({
    NODE_ENV: "production",
    MONGODB_URI: uri,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-00",
    LOG_LEVEL: "silent",
    PORT: "0",
    // The per-user budget is still taken on every send (its Redis call is part of the cost); it
    // is raised so that the highest rates of the ramp are not refused by it (200 users at
    // 600 msg/s send 3 a second each, the default's whole budget).
    MESSAGE_RATE_LIMIT: process.env.LOAD_MESSAGE_RATE_LIMIT ?? "1000/10",
  });
  const database = await connectDatabase({ uri, dbName: DB_NAME });
  const server = await createServer(config, database, { mailer: new MemoryMailer() });
  const port = await server.listen(0);
  const n = Number(process.env.LOAD_FIXTURE ?? 0);
  const fixture = n > 0 ? await makeFixture(server, database, n) : null;
  console.log(JSON.stringify({ ready: { port, fixture } }));
}

async function makeFixture(
  server: Awaited<ReturnType<typeof createServer>>,
  database: Awaited<ReturnType<typeof connectDatabase>>,
  n: number,
): Promise<Fixture> {
  const { users, tokens } = await benchUsers(database, server.services.tokens, "load", n);
  const ids = users.map((u) => u._id);
  const conversations: FixtureConversation[] = [];
  // Direct pairs (2i, 2i+1) are accepted contacts both ways: people mostly write to their
  // contacts, and strangers have a tighter budget per conversation.
  const pairs = Array.from({ length: Math.floor(n / 2) }, (_, i) => [2 * i, 2 * i + 1]);
  await database.models.Contact.insertMany(
    pairs.flatMap(([a, b]) => [
      { _id: new Types.ObjectId(), user_id: ids[a], contact_id: ids[b], status: ContactStatus.ACCEPTED },
      { _id: new Types.ObjectId(), user_id: ids[b], contact_id: ids[a], status: ContactStatus.ACCEPTED },
    ]),
  );
  for (const [a, b] of pairs) {
    const conv = await server.services.conversations.directFor(ids[a], ids[b]);
    conversations.push({ id: conv._id.toHexString(), kind: "direct", members: [a, b] });
  }
  for (let g = 0; g < Math.floor(n / 10); g++) {
    const members = Array.from({ length: 10 }, (_, k) => 10 * g + k);
    const group = await server.services.groups.create(ids[members[0]].toHexString(), {
      name: `load ${g}`,
      memberIds: members.slice(1).map((m) => ids[m].toHexString()),
    });
    const id = group._id.toHexString();
    conversations.push({ id, kind: "group", members, groupId: id });
  }
  return { userIds: ids.map((i) => i.toHexString()), tokens, conversations };
}

process.on("SIGINT", () => process.exit(0));
await (process.argv[2] === "db" ? db() : api(process.argv[3]));
