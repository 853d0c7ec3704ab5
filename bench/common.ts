/** What the API benchmarks share: percentiles, and users with sessions made straight in the database. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Types } from "mongoose";
import type { Database } from "../src/database.js";

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * `count` users named `<prefix><i>` with a live session and an access token each, written
 * straight to the database: a benchmark measures sends and fan-out, not registration's hashing.
 */
export async function benchUsers(
  db: Database,
  tokens: { issueAccess(claims: { userId: string; sessionId: string }): Promise<{ token: string }> },
  prefix: string,
  count: number,
): Promise<{ users: Array<{ _id: Types.ObjectId }>; tokens: string[] }> {
  const users = Array.from({ length: count }, (_, i) => ({
    _id: new Types.ObjectId(),
    username: `${prefix}${i}`,
    email: `${prefix}${i}@example.com`,
    password: "x",
    search_keys: [`${prefix}${i}`],
  }));
  await db.models.User.insertMany(users);
  const issued: string[] = [];
  for (const u of users) {
    const family = new Types.ObjectId().toHexString();
    await db.models.Session.create({
      user_id: u._id,
      family_id: family,
      token_hash: new Types.ObjectId().toHexString(),
      expires_at: new Date(Date.now() + 24 * 3600_000),
    });
    issued.push((await tokens.issueAccess({ userId: u._id.toHexString(), sessionId: family })).token);
  }
  return { users, tokens: issued };
}

/**
 * Runs this benchmark again in a child node started as production starts the API (Dockerfile,
 * npm start) unless it already was: NODE_ENV=production, and src/threadpool.cts preloaded to
 * size libuv's pool. Both are read once, early (graphql-js's type checks take a slower,
 * diagnostic path outside production; the pool starts while the entry loads), so setting them
 * from inside the benchmark would come too late. True in the parent, which has nothing more to do.
 */
export function respawnInProduction(): boolean {
  if (process.env.NODE_ENV === "production") return false;
  const preload = fileURLToPath(new URL("../src/threadpool.cjs", import.meta.url));
  const child = spawnSync(process.execPath, ["--require", preload, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
  process.exitCode = child.status ?? 1;
  return true;
}

/**
 * BENCH_CPU_PROF=dir: runs this benchmark again in a child node with `--cpu-prof` writing to
 * `dir` (open the .cpuprofile in Chrome DevTools or speedscope). True in the parent, which has
 * nothing more to do; false when not asked or already profiling.
 */
export function respawnWithCpuProfile(): boolean {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir || process.execArgv.some((a) => a.startsWith("--cpu-prof"))) return false;
  const child = spawnSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exitCode = child.status ?? 1;
  return true;
}
