/**
 * The API on a free port over real HTTP, on the test database (embedded or MONGODB_URI), in the
 * manner of graphql-ws's tests/utils/tservers.ts: start, use, and a cleanup that stops it all.
 */
import "reflect-metadata";
import { print } from "graphql";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { Logger } from "pino";
import { loadConfig, type Config } from "../../src/config.js";
import { BACKGROUND_COMMENT, connectDatabase, type Database } from "../../src/database.js";
import { createServer, type AppServer } from "../../src/server.js";
import { startTestMongo, type TestMongo } from "./mongo.js";
import { MemoryMailer } from "../../src/mail/mailer.js";
import { validateSeedCollections } from "./seed-schema.js";

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export interface TestApi {
  url: string;
  server: AppServer;
  db: Database;
  config: Config;
  mongo: TestMongo;
  /** Mail the API sent (password reset links). */
  mailer: MemoryMailer;
  /** Sends a typed document (test/operations → codegen) or a query string. */
  gql<T, V extends Record<string, unknown>>(document: TypedDocumentNode<T, V>, variables?: V, token?: string): Promise<GqlResult<T>>;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  stop(): Promise<void>;
}

/**
 * Test files create dozens of users and messages from one address within seconds, far past
 * what the abuse limits allow a person; those limits are tested by their own files, which pass
 * explicit values.
 */
const RELAXED_LIMITS: Record<string, string> = {
  REGISTER_RATE_LIMIT: "100000/1",
  MESSAGE_RATE_LIMIT: "100000/1",
  STRANGER_MESSAGE_RATE_LIMIT: "100000/1",
  TYPING_RATE_LIMIT: "100000/1",
  REACTION_RATE_LIMIT: "100000/1",
  MEMBER_ACTION_RATE_LIMIT: "100000/1",
  CALL_SIGNAL_RATE_LIMIT: "100000/1",
  CONTACT_REQUEST_RATE_LIMIT: "100000/1",
  GROUP_RATE_LIMIT: "100000/1",
  // Load shedding on latency would turn a slow moment of a busy test machine into a 503; its
  // own tests (overload.test.ts) set it explicitly.
  MAX_EVENT_LOOP_DELAY_MS: "0",
  MAX_REQUEST_DELAY_MS: "0",
};

export interface TestApiOptions {
  /** Share a database with another instance (multi-instance tests); its owner stops it. */
  shared?: { mongo: TestMongo };
  /** The server's logger (e.g. pino writing to a stream the test reads); default: LOG_LEVEL, silent in tests. */
  log?: Logger;
}

export async function startTestApi(env: Record<string, string> = {}, options: TestApiOptions = {}): Promise<TestApi> {
  const mongo: TestMongo = options.shared?.mongo ?? (await startTestMongo("api"));
  const ownsMongo = !options.shared;
  // Each instance stores uploads in its own temporary directory, removed when it stops.
  const uploadDir = env.UPLOAD_DIR ?? (await mkdtemp(path.join(tmpdir(), "letsapp-uploads-")));
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: "test-secret-that-is-long-enough-0123456789", UPLOAD_DIR: uploadDir, ...RELAXED_LIMITS, ...env });
  const db = await connectDatabase({ uri: mongo.uri, dbName: mongo.dbName, monitorCommands: true });
  const mailer = new MemoryMailer();
  const server = await createServer(config, db, { mailer, log: options.log });
  const port = await server.listen(0);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    server,
    db,
    config,
    mongo,
    mailer,
    async gql(document: string | TypedDocumentNode<unknown, Record<string, unknown>>, variables?: Record<string, unknown>, token?: string) {
      const query = typeof document === "string" ? document : print(document);
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, ...((await res.json()) as object) } as GqlResult<never>;
    },
    /** Stops everything; first checks that every stored document is true to seed 004. */
    async stop() {
      await server.stop();
      if (!env.UPLOAD_DIR) await rm(uploadDir, { recursive: true, force: true });
      if (!ownsMongo) {
        await db.close();
        return;
      }
      const seed = await validateSeedCollections(db.connection);
      if (seed && seed.failures.length) {
        await db.close();
        await mongo.stop();
        throw new Error(`documents not true to seed 004:\n${JSON.stringify(seed.failures, null, 2)}`);
      }
      await db.connection.dropDatabase().catch(() => undefined);
      await db.close();
      await mongo.stop();
    },
  };
}

/** Counts the database commands (driver command monitoring) sent while `fn` runs. */
export async function countCommands(api: TestApi, fn: () => Promise<unknown>): Promise<{ count: number; names: string[] }> {
  const names: string[] = [];
  const client = api.db.connection.getClient();
  const listener = (e: { commandName: string; command: { comment?: unknown } }): void => {
    // Periodic sweeps (ring timeouts, upload purges) run on their own clock, not for the request.
    if (e.command.comment === BACKGROUND_COMMENT) return;
    names.push(e.commandName);
  };
  client.on("commandStarted", listener);
  try {
    await fn();
  } finally {
    client.off("commandStarted", listener);
  }
  return { count: names.length, names };
}

/** Two API instances with the same settings on one database (Redis, if any, from `env`). */
export async function startTwoTestApis(env: Record<string, string> = {}): Promise<{ a: TestApi; b: TestApi }> {
  const a = await startTestApi(env);
  return { a, b: await startTestApi(env, { shared: { mongo: a.mongo } }) };
}

/** Stops instances in order (the one owning the shared database last); missing ones are skipped. */
export async function stopTestApis(...apis: Array<TestApi | undefined>): Promise<void> {
  for (const api of apis) await api?.stop();
}
