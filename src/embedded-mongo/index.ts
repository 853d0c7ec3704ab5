/**
 * An in-memory MongoDB-compatible server speaking the wire protocol over TCP, for development
 * and tests on machines without MongoDB. Production uses a real MongoDB through MONGODB_URI.
 *
 * This module imports nothing from the rest of the application.
 */
import { WireServer } from "./server.js";

export interface EmbeddedMongoOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** TCP port; default 0 (a free one). */
  port?: number;
  /** Replica-set name (a single-node set, the default "rs0"), or false for a standalone server. */
  replicaSet?: string | false;
  /** How often TTL indexes are enforced, in ms; default 2000. */
  ttlSweepMs?: number;
  /** Writes the change log keeps for change streams and transaction snapshots; default 10000. */
  changeLogSize?: number;
  /** Open transactions older than this are aborted; default 60 (transactionLifetimeLimitSeconds). */
  transactionLifetimeLimitSeconds?: number;
}

export interface EmbeddedMongo {
  /** A connection string the mongodb driver and mongoose accept as is. */
  uri: string;
  host: string;
  port: number;
  /** Closes every connection and stops listening. */
  stop(): Promise<void>;
  /** Drops every database and cursor (tests). */
  reset(): void;
}

export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? "127.0.0.1";
  const replicaSet = options.replicaSet === false ? null : options.replicaSet ?? "rs0";
  const server = new WireServer({
    host,
    port: options.port ?? 0,
    replicaSet,
    ttlSweepMs: options.ttlSweepMs ?? 2000,
    cursorTimeoutMs: 10 * 60 * 1000,
    changeLogSize: options.changeLogSize ?? 10_000,
    transactionLifetimeMs: (options.transactionLifetimeLimitSeconds ?? 60) * 1000,
  });
  const port = await server.listen();
  const address = host.includes(":") ? `[${host}]` : host;
  const uri = replicaSet ? `mongodb://${address}:${port}/?replicaSet=${encodeURIComponent(replicaSet)}` : `mongodb://${address}:${port}/`;
  return {
    uri,
    host,
    port,
    stop: () => server.close(),
    reset: () => server.reset(),
  };
}
