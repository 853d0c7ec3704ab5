/**
 * The process as a user runs it (`node dist/index.js`): it says which database it uses, serves
 * HTTP and WebSocket on one port, closes WebSocket clients with a close frame on SIGTERM and
 * exits 0. And graphql-ws refuses a bad token at connect with 4403.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { until } from "../helpers/wait.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function closeCode(url: string, authorization?: string): Promise<number> {
  return new Promise((resolve) => {
    // Not kept: the test only waits for the close code the server sends.
    createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: authorization ? { authorization } : {},
      on: { closed: (e) => resolve((e as { code: number }).code) },
      onNonLazyError: () => undefined,
    });
  });
}

describe("graphql-ws authentication at connect", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("closes with 4403 when the token is bad", async () => {
    expect(await closeCode(api.url.replace("http", "ws") + "/graphql", "Bearer not-a-token")).toBe(4403);
  });
});

describe("graceful stop", () => {
  it("lets an in-flight request finish before the server closes", async () => {
    const api = await startTestApi();
    const port = Number(new URL(api.url).port);
    const body = JSON.stringify({ query: "{ __typename }" });
    const received = new Promise<void>((resolve) => api.server.httpServer.once("request", () => resolve()));
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          port,
          host: "127.0.0.1",
          path: "/graphql",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      // Half the body now: the request is in flight when the stop begins.
      req.write(body.slice(0, 5));
      void received
        .then(async () => {
          stopping = api.stop();
          // The rest of the body comes once the stop has closed the listening socket: the request is in flight across it.
          await until(() => !api.server.httpServer.listening, "the server to stop listening", { intervalMs: 5, tries: 2000 });
          req.end(body.slice(5));
        })
        .catch(reject);
    });
    let stopping: Promise<void> | undefined;
    const res = await response;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ data: { __typename: "Query" } });
    await stopping;
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });
});

describe("npm start process", () => {
  let proc: ChildProcess;
  let port = 0;
  let output = "";

  beforeAll(async () => {
    proc = spawn(process.execPath, ["dist/index.js"], {
      cwd: root,
      env: { ...process.env, PORT: "0", LOG_LEVEL: "info", NODE_ENV: "development", MONGODB_URI: "", EMBEDDED_DB_PATH: ":memory:" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    port = await new Promise<number>((resolve, reject) => {
      proc.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        const m = /"port":(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      });
      proc.once("exit", (code) => reject(new Error(`exited early with ${code}: ${output}`)));
    });
  }, 120_000);

  afterAll(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  });

  it("says it uses the embedded database, serves /readyz, and stops cleanly on SIGTERM", async () => {
    expect(output).toContain("using the embedded in-memory database");
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const closed = new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
      ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: {} })));
      ws.on("message", () => proc.kill("SIGTERM"));
      ws.on("close", (code) => resolve(code));
    });
    const code = await closed;
    expect(code).toBe(1001);
    const exit = await new Promise<number | null>((resolve) => (proc.exitCode !== null ? resolve(proc.exitCode) : proc.once("exit", (c) => resolve(c))));
    expect(exit).toBe(0);
  });
});
