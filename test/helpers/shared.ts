/**
 * `../shared` (the contract, the seeds, MongoDB's CRUD spec data) sits beside the repository on
 * our machines and in CI, not in a user's clone. Tests that read it skip with a notice when it
 * is absent, and fail instead under CI=true, where its absence means a broken set-up.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED_DIR = process.env.LETSAPP_SHARED_DIR ?? path.resolve(repoRoot, "../shared");

/** The absolute path of a file or folder in ../shared, or null (after a notice) when absent. */
export function sharedPath(relative: string): string | null {
  const full = path.join(SHARED_DIR, relative);
  if (existsSync(full)) return full;
  if (process.env.CI === "true") {
    throw new Error(`${full} is missing: under CI=true the shared folder must be present beside the repository`);
  }
  console.warn(`[skip] ${full} is not present (it exists only beside the repository on project machines); skipping the tests that read it`);
  return null;
}
