/**
 * `npm run db -- [--port 27017] [--host 127.0.0.1] [--standalone] [--replSet rs0]`: runs the
 * embedded server on its own so several processes (API instances, a shell) can share it.
 */
import { parseArgs } from "node:util";
import { startEmbeddedMongo } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "27017" },
    host: { type: "string", default: "127.0.0.1" },
    replSet: { type: "string", default: "rs0" },
    standalone: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a number from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const db = await startEmbeddedMongo({
  host: values.host,
  port,
  replicaSet: values.standalone ? false : values.replSet,
});
console.log(`embedded MongoDB-compatible server listening: ${db.uri}`);

const shutdown = (): void => {
  void db.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
