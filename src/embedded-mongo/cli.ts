/**
 * `npm run db -- [--port 27017] [--host 127.0.0.1] [--standalone] [--replSet rs0] [--dbpath DIR]
 *   [--sync interval|always] [--journalCommitInterval MS] [--journalLimitBytes N] [--transactionLifetimeLimitSeconds 60]`:
 * runs the embedded server on its own so several processes (API instances, a shell) can share
 * it. With --dbpath the data is journaled to DIR and survives restarts and crashes.
 */
import { parseArgs } from "node:util";
import { startEmbeddedMongo } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "27017" },
    host: { type: "string", default: "127.0.0.1" },
    replSet: { type: "string", default: "rs0" },
    standalone: { type: "boolean", default: false },
    dbpath: { type: "string" },
    journalLimitBytes: { type: "string" },
    sync: { type: "string", default: "interval" },
    journalCommitInterval: { type: "string" },
    // MongoDB's setParameter of the same name: how long a transaction whose client died (a
    // killed API instance) keeps its documents before it is aborted.
    transactionLifetimeLimitSeconds: { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a number from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const journalLimitBytes = values.journalLimitBytes === undefined ? undefined : Number(values.journalLimitBytes);
if (journalLimitBytes !== undefined && !(Number.isInteger(journalLimitBytes) && journalLimitBytes > 0)) {
  console.error(`--journalLimitBytes must be a positive integer, got ${values.journalLimitBytes}`);
  process.exit(2);
}

if (values.sync !== "interval" && values.sync !== "always") {
  console.error(`--sync must be "interval" or "always", got ${values.sync}`);
  process.exit(2);
}
const commitIntervalMs = values.journalCommitInterval === undefined ? undefined : Number(values.journalCommitInterval);
// MongoDB's --journalCommitInterval accepts 1 to 500 ms.
if (commitIntervalMs !== undefined && !(Number.isInteger(commitIntervalMs) && commitIntervalMs >= 1 && commitIntervalMs <= 500)) {
  console.error(`--journalCommitInterval must be an integer from 1 to 500 (ms), got ${values.journalCommitInterval}`);
  process.exit(2);
}
const lifetime = values.transactionLifetimeLimitSeconds === undefined ? undefined : Number(values.transactionLifetimeLimitSeconds);
if (lifetime !== undefined && !(Number.isInteger(lifetime) && lifetime > 0)) {
  console.error(`--transactionLifetimeLimitSeconds must be a positive integer, got ${values.transactionLifetimeLimitSeconds}`);
  process.exit(2);
}

let db: Awaited<ReturnType<typeof startEmbeddedMongo>>;
try {
  db = await startEmbeddedMongo({
    host: values.host,
    port,
    replicaSet: values.standalone ? false : values.replSet,
    dbPath: values.dbpath,
    journalLimitBytes,
    sync: values.sync,
    commitIntervalMs,
    transactionLifetimeLimitSeconds: lifetime,
    onWarning: (m) => console.warn(`warning: ${m}`),
  });
} catch (err) {
  console.error(`embedded MongoDB-compatible server could not start: ${(err as Error).message}`);
  process.exit(1);
}
const syncNote = values.sync === "always" ? "every write synced before its reply" : `writes synced within ${commitIntervalMs ?? 100} ms, j:true at once`;
const where = db.dbPath
  ? `data in ${db.dbPath} (${syncNote}; ${db.recoveredDocuments} documents recovered in ${(db.recoveryMs / 1000).toFixed(2)} s, ${(db.recoveryCpuMs / 1000).toFixed(2)} s CPU)`
  : "in memory: data is lost when it stops (use --dbpath DIR to keep it)";
console.log(`embedded MongoDB-compatible server listening: ${db.uri} ${where}`);

const shutdown = (): void => {
  void db.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
