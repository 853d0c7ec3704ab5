/**
 * Start-up only: config → database → createServer → listen; SIGTERM/SIGINT stop gracefully
 * (in-flight requests finish, WebSocket clients get a close frame, the database disconnects).
 */
import "reflect-metadata";
import pino from "pino";
import { ConfigError, loadConfig } from "./config.js";
import { connectDatabase } from "./database.js";
import { createServer } from "./server.js";
import { createMailer } from "./mail/mailer.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Invalid configuration: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });
  if (config.jwtSecretGenerated) log.warn("JWT_SECRET is not set: using a random secret; tokens will not survive a restart");

  const db = await connectDatabase({ uri: config.mongodbUri });
  log.info(
    { database: config.mongodbUri ? "mongodb" : "embedded", uri: db.embedded?.uri },
    config.mongodbUri ? "connected to MongoDB (MONGODB_URI)" : "MONGODB_URI is not set: using the embedded in-memory database (data is lost on exit)",
  );
  if (config.env === "production" && !config.smtpUrl) log.warn("SMTP_URL is not set: mail (password resets) is not sent; only its recipient is logged");
  const mailer = createMailer(config, log);
  const server = await createServer(config, db, { mailer, log });
  const port = await server.listen(config.port);
  log.info({ port }, `LetsApp API ready at http://localhost:${port}/graphql (WebSocket on the same path)`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    await server.stop();
    await db.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

await main();
