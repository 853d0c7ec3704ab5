/**
 * `npm run db`: the standalone server process prints its URI, and several client processes
 * share it. It runs the compiled CLI (test/global-setup.ts builds dist/ once), as `npm run db` does.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function runClient(uri: string, script: string): string {
  return execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, URI: uri },
    encoding: "utf8",
  });
}

describe("npm run db (standalone process)", () => {
  let server: ChildProcess;
  let uri = "";

  beforeAll(async () => {
    server = spawn(process.execPath, ["dist/embedded-mongo/cli.js", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    uri = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /mongodb:\/\/\S+/.exec(out);
        if (m) resolve(m[0]);
      });
      server.once("exit", (code) => reject(new Error(`db exited with ${code}`)));
    });
  }, 120_000);

  afterAll(() => {
    server?.kill("SIGTERM");
  });

  it("prints a mongodb:// URI and serves two client processes", () => {
    expect(uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/\?replicaSet=rs0$/);
    const write = `
      import { MongoClient } from "mongodb";
      const c = await new MongoClient(process.env.URI).connect();
      await c.db("cli").collection("x").insertOne({ pid: process.pid });
      await c.close();`;
    runClient(uri, write);
    runClient(uri, write);
    const count = runClient(
      uri,
      `import { MongoClient } from "mongodb";
       const c = await new MongoClient(process.env.URI).connect();
       console.log(await c.db("cli").collection("x").countDocuments());
       await c.close();`,
    );
    expect(count.trim()).toBe("2");
  });
});
