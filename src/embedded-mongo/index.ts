/**
 * A MongoDB-compatible server (in memory, or durable in a data directory) speaking the wire protocol over TCP, for development
 * and tests on machines without MongoDB. Production uses a real MongoDB through MONGODB_URI.
 *
 * This module imports nothing from the rest of the application.
 */
import { openDataDir, type DataDir } from "./persistence/index.js";
import { WireServer } from "./server.js";

export { CorruptJournalError, CorruptSnapshotError, DataDirLockedError, type SyncMode } from "./persistence/index.js";
import type { SyncMode } from "./persistence/index.js";

export interface EmbeddedMongoOptions {
  /** Interface to listen on; default 127.0.0.1. Loopback only: the server has no authentication. */
  host?: string;
  /** TCP port; default 0 (a free one). */
  port?: number;
  /** Replica-set name (a single-node set, the default "rs0"), or false for a standalone server. */
  replicaSet?: string | false;
  /** How often TTL indexes are enforced, in ms; default 2000. */
  ttlSweepMs?: number;
  /**
   * A data directory: every acknowledged write is in the journal file before its reply (it
   * survives kill -9 of the process) and recovered on the next start. Undefined or ":memory:"
   * keeps everything in memory (tests).
   */
  dbPath?: string;
  /**
   * When the journal is synced to the disk (what survives an OS crash or power loss):
   * "interval" (default) within commitIntervalMs of the reply, and before it for writes with
   * `j: true` or `w: "majority"`, as MongoDB does; "always" before every write's reply.
   */
  sync?: SyncMode;
  /** The sync interval in "interval" mode, ms; default 100 (MongoDB's commitIntervalMs). */
  commitIntervalMs?: number;
  /** Journal size that triggers a snapshot (and journal truncation); default 64 MiB. */
  journalLimitBytes?: number;
  /** Where recovery warnings go (a cut journal tail); default console.warn. */
  onWarning?: (message: string) => void;
  /** Writes the change log keeps for change streams and transaction snapshots; default 10000. */
  changeLogSize?: number;
  /** Open transactions older than this are aborted; default 60 (transactionLifetimeLimitSeconds). */
  transactionLifetimeLimitSeconds?: number;
  /** configureFailPoint "failCommand" (tests of error handling), as mongod's enableTestCommands; default false. */
  enableTestCommands?: boolean;
}

export interface EmbeddedMongo {
  /** A connection string the mongodb driver and mongoose accept as is. */
  uri: string;
  host: string;
  port: number;
  /** The absolute data directory, or null when in memory. */
  dbPath: string | null;
  /** Documents found on disk at start (0 in memory), and how long loading them took. */
  recoveredDocuments: number;
  recoveryMs: number;
  /** CPU time (user + system) the loading took: what it costs on a machine that is not shared. */
  recoveryCpuMs: number;
  /** The journal's progress (records appended, written to the file, synced to the disk); null in memory. */
  journalProgress(): { appended: number; written: number; synced: number } | null;
  /** Closes every connection and stops listening (and, when durable, syncs and unlocks). */
  stop(): Promise<void>;
  /** Drops every database and cursor (tests). */
  reset(): void;
}

/** Loopback addresses: 127.0.0.0/8, ::1 (also as ::ffff:127.x) and the name localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? "127.0.0.1";
  // No authentication and every database readable: reachable from this machine only.
  if (!isLoopback(host))
    throw new Error(`the embedded database listens on loopback addresses only (127.0.0.1, ::1, localhost), not ${host}: it has no authentication`);
  const replicaSet = options.replicaSet === false ? null : (options.replicaSet ?? "rs0");
  const server = new WireServer({
    host,
    port: options.port ?? 0,
    replicaSet,
    ttlSweepMs: options.ttlSweepMs ?? 2000,
    cursorTimeoutMs: 10 * 60 * 1000,
    changeLogSize: options.changeLogSize ?? 10_000,
    transactionLifetimeMs: (options.transactionLifetimeLimitSeconds ?? 60) * 1000,
    enableTestCommands: options.enableTestCommands ?? false,
  });
  let dataDir: DataDir | null = null;
  const recoveryStart = performance.now();
  const cpuStart = process.cpuUsage();
  if (options.dbPath !== undefined && options.dbPath !== ":memory:") {
    dataDir = await openDataDir(options.dbPath, server.storage, {
      journalLimitBytes: options.journalLimitBytes,
      sync: options.sync,
      commitIntervalMs: options.commitIntervalMs,
      warn: options.onWarning,
    });
    server.barrier = dataDir.journal;
  }
  const recoveryMs = performance.now() - recoveryStart;
  const cpu = process.cpuUsage(cpuStart);
  const recoveryCpuMs = (cpu.user + cpu.system) / 1000;
  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    await dataDir?.close();
    throw err;
  }
  const address = host.includes(":") ? `[${host}]` : host;
  const uri = replicaSet ? `mongodb://${address}:${port}/?replicaSet=${encodeURIComponent(replicaSet)}` : `mongodb://${address}:${port}/`;
  return {
    uri,
    host,
    port,
    dbPath: dataDir?.dir ?? null,
    recoveredDocuments: dataDir?.recovered.documents ?? 0,
    recoveryMs,
    recoveryCpuMs,
    journalProgress: () => dataDir?.journal.progress ?? null,
    stop: async () => {
      await server.close();
      await dataDir?.close();
    },
    reset: () => server.reset(),
  };
}
