/**
 * Stop and start of the real process (`node dist/index.js`, compiled by the global setup):
 * SIGTERM/SIGINT end it with exit code 0, idle or with WebSocket clients (who get a close
 * frame); a busy port gives one clear line and exit code 1, not a stack trace; without
 * JWT_SECRET the development secret lives in DATA_DIR, so tokens survive a restart.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { root, spawnApi, type RunningApi } from "../helpers/process.js";
import { until } from "../helpers/wait.js";

const started: ChildProcess[] = [];

/** The environment without JWT_SECRET: the development secret file is under test. */
function withoutJwtSecret(): NodeJS.ProcessEnv {
  const { JWT_SECRET: _secret, ...env } = process.env;
  return env;
}
let dataDir: string;

/** Starts the API; resolves once it listens (or with the exit, when it stops early). */
function startApi(env: Record<string, string> = {}, args = ["dist/index.js"]): Promise<RunningApi> {
  return spawnApi({ ...withoutJwtSecret(), PORT: "0", LOG_LEVEL: "info", NODE_ENV: "development", MONGODB_URI: "", DATA_DIR: dataDir, ...env }, args, (proc) =>
    started.push(proc),
  );
}

async function gql(
  port: number,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<{ data?: Record<string, never>; errors?: Array<{ extensions?: { code?: string } }> }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as never;
}

/** A graphql-ws connection, acknowledged; resolves its close code later. */
async function openSocket(port: number): Promise<{ closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: {} })));
    ws.on("message", (m) => (JSON.parse(m.toString()).type === "connection_ack" ? resolve() : undefined));
    ws.on("error", reject);
  });
  return { closed };
}

describe("stop and start of the process", () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "letsapp-data-"));
  });
  afterEach(() => {
    for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("exits 0 on SIGTERM when idle (embedded database)", async () => {
    const api = await startApi();
    expect(api.port).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${api.port}/healthz`)).status).toBe(200);
    api.proc.kill("SIGTERM");
    expect(await api.exited).toBe(0);
    expect(api.output()).toContain('"msg":"stopped"');
  }, 60_000);

  it("exits 0 on SIGINT with several WebSocket clients, each closed with 1001", async () => {
    const api = await startApi();
    const sockets = await Promise.all([openSocket(api.port), openSocket(api.port), openSocket(api.port)]);
    api.proc.kill("SIGINT");
    expect(await Promise.all(sockets.map((s) => s.closed))).toEqual([1001, 1001, 1001]);
    expect(await api.exited).toBe(0);
  }, 60_000);

  it("exits within SHUTDOWN_TIMEOUT_MS (code 1, one line) when a client never finishes closing", async () => {
    const api = await startApi({ SHUTDOWN_TIMEOUT_MS: "1500", EMBEDDED_DB_PATH: ":memory:" });
    // A raw WebSocket that never answers the server's close frame: ws would wait 30 s for it.
    const socket = net.connect(api.port, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write(
        `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
      );
    });
    try {
      api.proc.kill("SIGTERM");
      expect(await api.exited).toBe(1);
      expect(
        api
          .output()
          .split("\n")
          .filter((l) => l.includes("did not finish in time")),
      ).toHaveLength(1);
      await expect(fetch(`http://127.0.0.1:${api.port}/healthz`)).rejects.toThrow();
    } finally {
      socket.destroy();
    }
  }, 60_000);

  it("leaves no process holding the port after Ctrl-C under npm (the whole process group gets SIGINT)", async () => {
    // `npm start` is `tsc && node --require ./dist/threadpool.cjs dist/index.js` through a shell: the same tree without the tsc step.
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const api = await spawnApi(
      { ...withoutJwtSecret(), PORT: "0", LOG_LEVEL: "info", NODE_ENV: "development", MONGODB_URI: "", EMBEDDED_DB_PATH: ":memory:", DATA_DIR: dataDir },
      ["exec", "-c", "node --require ./dist/threadpool.cjs dist/index.js"],
      (proc) => started.push(proc),
      { command: npm, detached: true },
    );
    const signalGroup = (signal: NodeJS.Signals | 0) => {
      try {
        process.kill(-api.proc.pid!, signal);
        return true;
      } catch {
        return false; // ESRCH: nothing of the group is left
      }
    };
    try {
      expect(api.port, api.output()).toBeGreaterThan(0);
      signalGroup("SIGINT");
      await api.exited;
      await until(() => !signalGroup(0), "every process of the group to exit", { tries: 100 });
      await expect(fetch(`http://127.0.0.1:${api.port}/healthz`)).rejects.toThrow();
      expect(api.output()).not.toMatch(/^\s+at /m);
    } finally {
      signalGroup("SIGKILL");
    }
  }, 60_000);

  it("prints nothing on stderr while serving (no deprecation warnings from the database layer)", async () => {
    const api = await startApi({ EMBEDDED_DB_PATH: ":memory:" });
    const register = (username: string) =>
      gql(api.port, `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, {
        i: { username, email: `${username}@example.com`, password: "password-123" },
      });
    const a = (await register("quiet_a")).data as unknown as { register: { accessToken: string; user: { id: string } } };
    const b = (await register("quiet_b")).data as unknown as { register: { accessToken: string; user: { id: string } } };
    // Updates through findOneAndUpdate (sequence numbers, watermarks, edits, presence) are where mongoose warned.
    const sent = (
      await gql(
        api.port,
        `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq conversationId } }`,
        { i: { recipientId: b.register.user.id, content: "hi" } },
        a.register.accessToken,
      )
    ).data as unknown as {
      sendMessage: { id: string; seq: number; conversationId: string };
    };
    expect(sent.sendMessage.seq).toBe(1);
    for (const [query, variables, token] of [
      [
        `mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { id } }`,
        { c: sent.sendMessage.conversationId, s: 1 },
        b.register.accessToken,
      ],
      [`mutation($id: ID!) { editMessage(id: $id, content: "hi!") { id } }`, { id: sent.sendMessage.id }, a.register.accessToken],
      [`mutation { setPresence(input: { status: AWAY }) { status } }`, {}, a.register.accessToken],
      [`mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: b.register.user.id }, a.register.accessToken],
    ] as const) {
      expect((await gql(api.port, query, variables, token)).errors).toBeUndefined();
    }
    api.proc.kill("SIGTERM");
    expect(await api.exited).toBe(0);
    expect(api.stderr()).toBe("");
  }, 60_000);

  it("gives one clear line and exit code 1 when the port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const api = await startApi({ PORT: String(port) });
      expect(await api.exited).toBe(1);
      const lines = api.output().trim().split("\n");
      expect(lines.filter((l) => l.includes(`port ${port} is already in use`))).toHaveLength(1);
      expect(api.output()).not.toMatch(/^\s+at /m);
      expect(api.output()).not.toContain("Internal error");
    } finally {
      blocker.close();
    }
  }, 60_000);

  it("starts from the sources without tsc in `npm run dev` (swc keeps decorator metadata)", async () => {
    const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const [bin, ...args] = pkg.scripts.dev.split(" ");
    expect(bin).toBe("node");
    expect(pkg.scripts.dev).not.toMatch(/tsc|tsx|esbuild/);
    const api = await startApi({}, args);
    expect(api.port).toBeGreaterThan(0);
    const res = await gql(api.port, `mutation($i: RegisterInput!) { register(input: $i) { user { username } } }`, {
      i: { username: "devi", email: "devi@example.com", password: "password-123" },
    });
    expect(res).toEqual({ data: { register: { user: { username: "devi" } } } });
    api.proc.kill("SIGTERM");
    expect(await api.exited).toBe(0);
  }, 120_000);

  it("keeps the embedded database's data across a restart (EMBEDDED_DB_PATH, default <DATA_DIR>/db)", async () => {
    const first = await startApi();
    expect(first.output()).toContain(`data kept in ${path.join(dataDir, "db")}`);
    const reg = await gql(first.port, `mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`, {
      i: { username: "durable", email: "durable@example.com", password: "password-123" },
    });
    const token = (reg.data as unknown as { register: { accessToken: string } }).register.accessToken;
    first.proc.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = await startApi();
    expect(await gql(second.port, `{ me { username } }`, undefined, token)).toEqual({ data: { me: { username: "durable" } } });
    second.proc.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    // ":memory:" keeps nothing.
    const memory = await startApi({ EMBEDDED_DB_PATH: ":memory:" });
    expect(memory.output()).toContain("in-memory");
    expect((await gql(memory.port, `{ me { username } }`, undefined, token)).data?.me ?? null).toBeNull();
    memory.proc.kill("SIGTERM");
    expect(await memory.exited).toBe(0);
  }, 90_000);

  describe("with an external database", () => {
    let mongo: TestMongo;
    beforeAll(async () => {
      mongo = await startTestMongo("process");
    });
    afterAll(async () => {
      await mongo?.stop();
    });

    it("keeps the development JWT secret in DATA_DIR (0600): a token outlives a restart", async () => {
      const uri = /\/[^/?]+(\?|$)/.test(mongo.uri.replace(/^mongodb(\+srv)?:\/\//, "")) ? mongo.uri : mongo.uri.replace(/\/?(\?|$)/, `/${mongo.dbName}$1`);
      const first = await startApi({ MONGODB_URI: uri });
      const reg = await gql(first.port, `mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`, {
        i: { username: "dora", email: "dora@example.com", password: "password-123" },
      });
      const token = (reg.data as unknown as { register: { accessToken: string } }).register.accessToken;
      first.proc.kill("SIGTERM");
      expect(await first.exited).toBe(0);
      expect((await stat(path.join(dataDir, "jwt-secret"))).mode & 0o777).toBe(0o600);

      const second = await startApi({ MONGODB_URI: uri });
      const me = await gql(second.port, `{ me { username } }`, undefined, token);
      expect(me).toEqual({ data: { me: { username: "dora" } } });
      second.proc.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }, 60_000);
  });
});
