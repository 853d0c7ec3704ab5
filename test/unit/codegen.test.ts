/** test/generated/graphql.ts is generated from test/operations and the schema; stale output fails. */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("codegen", () => {
  it("is up to date (run `npm run codegen` after changing test/operations or the schema)", () => {
    const bin = path.join(root, "node_modules/@graphql-codegen/cli/cjs/bin.js");
    let status = 0;
    let output: string;
    try {
      output = execFileSync(process.execPath, [bin, "--config", "codegen.yml", "--check"], { cwd: root, encoding: "utf8", stdio: "pipe" });
    } catch (err) {
      status = (err as { status?: number }).status ?? 1;
      output = String((err as { stdout?: string }).stdout ?? "") + String((err as { stderr?: string }).stderr ?? "");
    }
    expect(status, output).toBe(0);
  }, 60_000);
});
