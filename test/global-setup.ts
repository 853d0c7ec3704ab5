/**
 * Compiles src/ to dist/ once before the suite: the tests that run the real processes
 * (`npm run db`, `npm start`) use the compiled build, as users do, and must not race each
 * other compiling it.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  // .ci/run has just built dist/ (schema:check) from the same tree: it says so with TEST_BUILD=0.
  if (process.env.TEST_BUILD === "0") return;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
