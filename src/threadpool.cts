/**
 * Sizes libuv's thread pool for the machine, before anything uses it: password hashing
 * (argon2), the token checks of every request (jose's WebCrypto HMAC), file reads and image
 * work all run there, and Node's default is 4 threads whatever the core count. The size is
 * read once, when the pool starts, and in an ES module program that happens while the entry is
 * still loading, so setting it from src/index.ts is too late: this CommonJS file is preloaded,
 * `node --require ./dist/threadpool.cjs dist/index.js` (npm start and the Dockerfile do).
 *
 * Size: one thread per core for argon2 (src/auth/password.ts runs at most that many hashes at
 * once, so logins never queue the others behind them) plus Node's 4 for everything else.
 * An operator's UV_THREADPOOL_SIZE wins.
 */
import os from "node:os";

export function threadPoolSize(cores = os.availableParallelism()): number {
  return cores + 4;
}

if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(threadPoolSize());
