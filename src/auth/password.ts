/**
 * Password hashing with argon2id at OWASP's recommended cost (m=19 MiB, t=2, p=1): the
 * package default costs about six times more CPU per login for little extra safety.
 */
import os from "node:os";
import argon2 from "argon2";

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * How many hashes run at once: one per core, and always one pool thread left for the rest.
 * argon2 runs on libuv's thread pool; with more hashes than cores in flight (16 logins at once
 * would take the whole default pool of 4 on a 2-core machine) they only share the same cores,
 * crowd out the event loop and hold up every request's token check (WebCrypto, same pool)
 * behind ~25 ms of hashing each, and take 19 MiB each. Further logins wait their turn here,
 * costing nothing. Process-wide on purpose: it guards the process's CPU, not a request's data.
 */
const POOL = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const SLOTS = Math.max(1, Math.min(os.availableParallelism(), POOL - 1));
let running = 0;
const waiting: Array<() => void> = [];

async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running < SLOTS) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over as is
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return inSlot(() => argon2.hash(password, OPTIONS));
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await inSlot(() => argon2.verify(hash, password));
  } catch {
    return false;
  }
}

/**
 * A hash of a random password, verified against when the login is unknown so that an unknown
 * user and a wrong password take the same time.
 */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`);
  return dummyHash;
}
