/**
 * src/embedded-mongo is a separate layer (design notes: "imports nothing from the app"): every
 * import in it is Node's, bson's, mingo's, or a relative path that stays inside the folder.
 * TypeScript's own pre-processor lists the specifiers (static, dynamic and `export ... from`).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const engine = path.join(root, "src/embedded-mongo");
const PACKAGES = [/^node:/, /^bson$/, /^mingo(\/|$)/];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

describe("the embedded server's layer", () => {
  it("imports nothing from outside src/embedded-mongo", () => {
    const files = sourceFiles(engine);
    expect(files.length).toBeGreaterThan(20);
    const outside: string[] = [];
    for (const file of files) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      for (const { fileName: spec } of importedFiles) {
        const inside = spec.startsWith(".")
          ? !path.relative(engine, path.resolve(path.dirname(file), spec)).startsWith("..")
          : PACKAGES.some((re) => re.test(spec));
        if (!inside) outside.push(`${path.relative(root, file)}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
