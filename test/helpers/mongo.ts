/**
 * The database a test file talks to: the embedded server over TCP, or a real MongoDB when
 * MONGODB_URI is set. Each test file gets its own database name so files never share data.
 */
import { randomBytes } from "node:crypto";
import { MongoClient, type Db, type ObjectId } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import { startEmbeddedMongo, type EmbeddedMongo } from "../../src/embedded-mongo/index.js";

export interface TestMongo {
  uri: string;
  /** A database name unique to this test file. */
  dbName: string;
  /** The embedded server, or null against a real MongoDB. */
  embedded: EmbeddedMongo | null;
  stop(): Promise<void>;
}

export async function startTestMongo(prefix = "test"): Promise<TestMongo> {
  const dbName = `${prefix}_${randomBytes(4).toString("hex")}`;
  const external = process.env.MONGODB_URI;
  if (external) return { uri: external, dbName, embedded: null, stop: async () => {} };
  const embedded = await startEmbeddedMongo();
  return { uri: embedded.uri, dbName, embedded, stop: () => embedded.stop() };
}

/** Documents with any `_id` type (the driver's default typing assumes ObjectId). */

export type AnyDoc = { _id?: number | string | ObjectId; [key: string]: any };

/** An embedded server of its own and an official-driver client on it (engine tests). */
export async function startEmbeddedClient(options?: Parameters<typeof startEmbeddedMongo>[0]): Promise<{ server: EmbeddedMongo; client: MongoClient }> {
  const server = await startEmbeddedMongo(options);
  return { server, client: await new MongoClient(server.uri).connect() };
}

/** Ends what startEmbeddedClient started (either may be missing when start-up failed). */
export async function stopEmbeddedClient(server: EmbeddedMongo | undefined, client: MongoClient | undefined): Promise<void> {
  await client?.close();
  await server?.stop();
}

/**
 * For a describe block: a test database of its own (startTestMongo) and a driver client on it,
 * opened before its tests and dropped and closed after them. Read `db`/`client` inside tests.
 */
export function useTestDb(prefix: string): { readonly db: Db; readonly client: MongoClient } {
  let mongo: TestMongo | undefined;
  let client: MongoClient | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    mongo = await startTestMongo(prefix);
    client = await new MongoClient(mongo.uri).connect();
    db = client.db(mongo.dbName);
  });
  afterAll(async () => {
    await db?.dropDatabase();
    await client?.close();
    await mongo?.stop();
  });
  return {
    get db() {
      return db!;
    },
    get client() {
      return client!;
    },
  };
}
