/**
 * Installing and shipping on the documented versions: a clean `npm ci` from package.json and
 * package-lock.json (run by npm itself, `--dry-run --offline`, in a scratch directory) prints
 * no engine warning on this Node (CI runs the documented Node 20) and no deprecation notice;
 * the Docker image builds on a supported LTS Node.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../helpers/process.js";

const run = promisify(execFile);

describe("install and versions", () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "letsapp-install-"));
    for (const f of ["package.json", "package-lock.json"]) await copyFile(path.join(root, f), path.join(scratch, f));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("npm ci prints no engine warning and no deprecation notice on this Node", async () => {
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(">=20.19");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const { stdout, stderr } = await run(npm, ["ci", "--dry-run", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: scratch,
      maxBuffer: 16 * 1024 * 1024,
    });
    const output = stdout + stderr;
    expect(output).toMatch(/added \d+ packages/);
    expect(output.split("\n").filter((l) => l.includes("EBADENGINE"))).toEqual([]);
    expect(output.split("\n").filter((l) => /npm warn deprecated/i.test(l))).toEqual([]);
  }, 120_000);

  it("builds the Docker image on an active LTS Node (even major, 22 or later)", async () => {
    const froms = [...(await readFile(path.join(root, "Dockerfile"), "utf8")).matchAll(/^FROM node:(\d+)/gm)].map((m) => Number(m[1]));
    expect(froms.length).toBeGreaterThan(0);
    for (const major of froms) {
      expect(major % 2, `node:${major}`).toBe(0);
      expect(major).toBeGreaterThanOrEqual(22);
    }
  });
});
