/**
 * The database connection, its transactions and the models bound to it. Models are built per
 * connection (not through typegoose's global model cache) so several API instances can live in
 * one process, as the multi-instance tests need.
 */
import type { ReturnModelType } from "@typegoose/typegoose";
import mongoose from "mongoose";
import { startEmbeddedMongo, type EmbeddedMongo } from "../embedded-mongo/index.js";

/** Marks the periodic reads of background sweeps (`$comment`), so they can be told apart. */
export const BACKGROUND_COMMENT = "letsapp:background";

/**
 * The stored entity classes by model name. Each entity adds its own (declaration merging, next
 * to its class); the root's table (src/models.ts) binds them, so this file knows no feature.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ModelClasses {}

/** The models bound to one connection, by name. */
export type Models = { [K in keyof ModelClasses]: ReturnModelType<ModelClasses[K]> };

/** The session a transactional step passes to every read and write (undefined: no transaction). */
export type TxnSession = mongoose.ClientSession | undefined;

export interface Database {
  connection: mongoose.Connection;
  models: Models;
  /**
   * Whether the server runs multi-document transactions (a replica set or a sharded cluster, with
   * logical sessions), found once at connect from `hello`: a standalone server has neither.
   */
  transactions: boolean;
  /**
   * Runs `fn` as one transaction (the driver's withTransaction: the whole of `fn` is retried on
   * TransientTransactionError, the commit on UnknownTransactionCommitResult), so `fn` must do
   * nothing but database work through the session it is given. Without transaction support
   * `fn` runs once without a session: the caller documents what that fallback risks.
   */
  transaction<T>(fn: (session: TxnSession) => Promise<T>): Promise<T>;
  /** The embedded server when MONGODB_URI was not set (stopped with the database). */
  embedded: EmbeddedMongo | null;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Binds every model to the connection (the root's model table). */
  bindModels: (connection: mongoose.Connection) => Models;
  uri: string | null;
  /** Without a URI: the embedded server's data directory (null or absent: in memory). */
  embeddedDbPath?: string | null;
  dbName?: string;
  /** Emit driver command events (tests count database commands). */
  monitorCommands?: boolean;
}

/**
 * Transactions need a replica-set member or a mongos (`setName` / `msg: "isdbgrid"`) that
 * hands out logical sessions; a standalone server answers `hello` with neither.
 */
async function supportsTransactions(connection: mongoose.Connection): Promise<boolean> {
  const hello = (await connection.db!.admin().command({ hello: 1 })) as { setName?: string; msg?: string; logicalSessionTimeoutMinutes?: number | null };
  return (typeof hello.setName === "string" || hello.msg === "isdbgrid") && hello.logicalSessionTimeoutMinutes != null;
}

/** The database named in a mongodb:// URI's path, if any (mongodb://host/mydb). */
function databaseInUri(uri: string): string | null {
  const m = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return m ? decodeURIComponent(m[1]) : null;
}

export async function connectDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = options.uri ? null : await startEmbeddedMongo({ dbPath: options.embeddedDbPath ?? undefined });
  const uri = options.uri ?? embedded!.uri;
  mongoose.set("sanitizeFilter", true);
  const connection = await mongoose
    .createConnection(uri, { dbName: options.dbName ?? (databaseInUri(uri) || "letsapp"), autoIndex: false, monitorCommands: options.monitorCommands ?? false })
    .asPromise();
  const models = options.bindModels(connection);

  await Promise.all(Object.values(models).map((m) => (m as mongoose.Model<unknown>).createIndexes()));
  const transactions = await supportsTransactions(connection);
  return {
    connection,
    models,
    embedded,
    transactions,
    async transaction<T>(fn: (session: TxnSession) => Promise<T>): Promise<T> {
      if (!transactions) return fn(undefined);
      const session = await connection.startSession();
      try {
        // Majority commit: a committed message survives a failover, so its seq never reappears.
        return await session.withTransaction(() => fn(session), { writeConcern: { w: "majority" } });
      } finally {
        await session.endSession();
      }
    },
    async ping() {
      try {
        await connection.db!.admin().command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await connection.close();
      await embedded?.stop();
    },
  };
}
