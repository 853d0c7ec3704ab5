/**
 * The preload that sizes libuv's thread pool (src/threadpool.cts, `node --require
 * ./dist/threadpool.cjs dist/index.js`) acts before the pool starts: a process started that way
 * has cores + 4 pool threads, where Node's default is 4, and an operator's UV_THREADPOOL_SIZE wins.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// Starts the pool (one crypto job), then reports the size asked for and the process's threads.
const PROBE = `require("node:crypto").pbkdf2("a", "b", 1, 32, "sha256", () => {
  const threads = Number(require("node:fs").readFileSync("/proc/self/status", "utf8").match(/Threads:\\s+(\\d+)/)[1]);
  console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE ?? null, threads }));
});`;

function probe(env: Record<string, string | undefined>, preload: boolean): { size: string | null; threads: number } {
  const args = [...(preload ? ["--require", "./dist/threadpool.cjs"] : []), "-e", PROBE];
  const childEnv = { ...process.env, ...env };
  if (env.UV_THREADPOOL_SIZE === undefined) delete childEnv.UV_THREADPOOL_SIZE;
  return JSON.parse(execFileSync(process.execPath, args, { cwd: root, env: childEnv, encoding: "utf8" })) as { size: string | null; threads: number };
}

describe.runIf(process.platform === "linux")("libuv thread pool size", () => {
  it("is cores + 4 with the preload: the pool really starts with that many threads", () => {
    const sized = probe({ UV_THREADPOOL_SIZE: undefined }, true);
    const defaults = probe({ UV_THREADPOOL_SIZE: undefined }, false);
    expect(sized.size).toBe(String(os.availableParallelism() + 4));
    expect(defaults.size).toBeNull();
    expect(sized.threads - defaults.threads).toBe(os.availableParallelism());
  });

  it("keeps the operator's UV_THREADPOOL_SIZE", () => {
    expect(probe({ UV_THREADPOOL_SIZE: "7" }, true).size).toBe("7");
  });
});
