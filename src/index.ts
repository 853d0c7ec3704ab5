/**
 * Start-up only: config → database → createServer → listen; SIGTERM/SIGINT stop gracefully
 * (in-flight requests finish, WebSocket clients get a close frame, the database disconnects)
 * within SHUTDOWN_TIMEOUT_MS, after which the process exits anyway: a stop that hangs must
 * never leave a process holding the port (the next start would fail with EADDRINUSE).
 */
import "reflect-metadata";
import pino from "pino";
import { ConfigError, loadConfig, withDevSecretFile, type Config } from "./config.js";
import { connectDatabase, type Database } from "./database.js";
import { createServer, type AppServer } from "./server.js";
import { createMailer } from "./mail/mailer.js";

function configOrExit(): Config & { jwtSecretFile?: string } {
  try {
    return withDevSecretFile(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Invalid configuration: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const log = pino({ level: config.logLevel });
  if (config.jwtSecretFile) log.warn({ file: config.jwtSecretFile }, "JWT_SECRET is not set: using the development secret kept in DATA_DIR");
  else if (config.jwtSecretGenerated) log.warn("JWT_SECRET is not set: using a random secret; tokens will not survive a restart");

  let db: Database | null = null;
  let server: AppServer | null = null;
  let stopping = false;

  /** Graceful stop, bounded by SHUTDOWN_TIMEOUT_MS; a second signal exits at once. */
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down");
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, "graceful stop did not finish in time (SHUTDOWN_TIMEOUT_MS): exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await server?.stop();
      await db?.close();
      log.info("stopped");
      process.exit(0);
    } catch (err) {
      log.error({ err }, "graceful stop failed");
      process.exit(1);
    }
  };
  // Registered before anything starts: a signal during start-up stops what has started.
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  db = await connectDatabase({ uri: config.mongodbUri, embeddedDbPath: config.embeddedDbPath, monitorCommands: config.metricsEnabled });
  log.info(
    { database: config.mongodbUri ? "mongodb" : "embedded", uri: db.embedded?.uri, dbPath: db.embedded?.dbPath ?? undefined },
    config.mongodbUri
      ? "connected to MongoDB (MONGODB_URI)"
      : db.embedded?.dbPath
        ? `MONGODB_URI is not set: using the embedded database, data kept in ${db.embedded.dbPath} (EMBEDDED_DB_PATH)`
        : "MONGODB_URI is not set: using the embedded in-memory database (EMBEDDED_DB_PATH=:memory:; data is lost on exit)",
  );
  // Without transactions (a standalone MongoDB) a send's seq and message are two writes: a crash
  // between them can leave a seq hole (README, "Order and delivery").
  if (!db.transactions) log.warn("the database runs no multi-document transactions (not a replica set): a crash during a send can leave a gap in seq");
  if (config.env === "production" && !config.smtpUrl) log.warn("SMTP_URL is not set: mail (password resets) is not sent; only its recipient is logged");
  const mailer = createMailer(config, log);
  server = await createServer(config, db, { mailer, log });
  let port: number;
  try {
    port = await server.listen(config.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      log.fatal({ port: config.port }, `port ${config.port} is already in use: stop the process holding it or set PORT`);
      process.exit(1);
    }
    throw err;
  }
  if (stopping) return;
  log.info({ port }, `LetsApp API ready at http://localhost:${port}/graphql (WebSocket on the same path)`);
}

main().catch((err: unknown) => {
  // One line with the cause; a stack only when it is not one of ours.
  console.error(`LetsApp API failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
