/**
 * One process owns a data directory. The lock file holds the owner's pid; a lock left by a
 * process that no longer runs (kill -9, power loss) is taken over, so a crash never blocks the
 * restart that recovers it. Exclusive create ("wx") settles two starts racing for it.
 */
import { readFile, unlink, writeFile } from "node:fs/promises";
import { LOCK_FILE, inDir } from "./files.js";

/** Directories locked by this process (a pid check cannot tell two owners in one process apart). */
const heldHere = new Set<string>();

export class DataDirLockedError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = inDir(dir, LOCK_FILE);
  if (heldHere.has(dir)) throw new DataDirLockedError(`data directory ${dir} is already in use by this process (lock file ${file})`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      heldHere.add(dir);
      return async () => {
        heldHere.delete(dir);
        await unlink(file).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new DataDirLockedError(`data directory ${dir} is in use by another process (pid ${pid}, lock file ${file}); stop it first`);
    }
    // Stale: its owner is gone. Remove it and race for it again.
    await unlink(file).catch(() => {});
  }
  throw new DataDirLockedError(`could not lock data directory ${dir} (lock file ${file})`);
}
