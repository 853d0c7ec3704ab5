/**
 * The database connection and the models bound to it. Models are built per connection (not
 * through typegoose's global model cache) so several API instances can live in one process,
 * as the multi-instance tests need.
 */
import { buildSchema, type ReturnModelType } from "@typegoose/typegoose";
import mongoose from "mongoose";
import { startEmbeddedMongo, type EmbeddedMongo } from "./embedded-mongo/index.js";
import { Session } from "./modules/account/session.entity.js";
import { User } from "./modules/user/user.entity.js";
import { PasswordReset } from "./modules/password-reset/password-reset.entity.js";
import { Contact } from "./modules/contact/contact.entity.js";
import { FileItem, Media } from "./modules/media/media.entity.js";
import { Conversation } from "./modules/conversation/conversation.entity.js";
import { DirectMessage, GroupMessageDoc } from "./modules/message/message.entity.js";
import { Group } from "./modules/group/group.entity.js";
import { Call } from "./modules/call/call.entity.js";
import { Upload } from "./modules/media/upload.entity.js";
import { PresenceDoc } from "./modules/presence/presence.entity.js";
import { GroupInvitation } from "./modules/group/group-invitation.entity.js";
import { SecurityEvent } from "./modules/audit/security-event.entity.js";

/** Marks the periodic reads of background sweeps (`$comment`), so they can be told apart. */
export const BACKGROUND_COMMENT = "letsapp:background";

export interface Models {
  User: ReturnModelType<typeof User>;
  Session: ReturnModelType<typeof Session>;
  PasswordReset: ReturnModelType<typeof PasswordReset>;
  Contact: ReturnModelType<typeof Contact>;
  Media: ReturnModelType<typeof Media>;
  File: ReturnModelType<typeof FileItem>;
  Conversation: ReturnModelType<typeof Conversation>;
  DirectMessage: ReturnModelType<typeof DirectMessage>;
  GroupMessage: ReturnModelType<typeof GroupMessageDoc>;
  Group: ReturnModelType<typeof Group>;
  Call: ReturnModelType<typeof Call>;
  Upload: ReturnModelType<typeof Upload>;
  Presence: ReturnModelType<typeof PresenceDoc>;
  GroupInvitation: ReturnModelType<typeof GroupInvitation>;
  SecurityEvent: ReturnModelType<typeof SecurityEvent>;
}

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

function model<T extends new () => unknown>(conn: mongoose.Connection, cls: T): ReturnModelType<T> {
  return conn.model(cls.name, buildSchema(cls)) as unknown as ReturnModelType<T>;
}

export interface DatabaseOptions {
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
  const connection = await mongoose.createConnection(uri, { dbName: options.dbName ?? (databaseInUri(uri) || "letsapp"), autoIndex: false, monitorCommands: options.monitorCommands ?? false }).asPromise();
  const models: Models = {
    User: model(connection, User),
    Session: model(connection, Session),
    PasswordReset: model(connection, PasswordReset),
    Contact: model(connection, Contact),
    Media: model(connection, Media),
    File: model(connection, FileItem),
    Conversation: model(connection, Conversation),
    DirectMessage: model(connection, DirectMessage),
    GroupMessage: model(connection, GroupMessageDoc),
    Group: model(connection, Group),
    Call: model(connection, Call),
    Upload: model(connection, Upload),
    Presence: model(connection, PresenceDoc),
    GroupInvitation: model(connection, GroupInvitation),
    SecurityEvent: model(connection, SecurityEvent),
  };
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
