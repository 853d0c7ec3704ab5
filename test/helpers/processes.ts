/**
 * Real processes from the compiled build (dist/, compiled by the global setup): the embedded
 * database on its own (`node dist/embedded-mongo/cli.js`) and API instances
 * (`node dist/index.js`), with the signals a fault test sends them (SIGKILL, SIGSTOP/SIGCONT)
 * and a restart on the same port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A port free right now (the OS picks it; closed again at once). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ChildHandle {
  proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

function launch(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<{ handle: ChildHandle; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const handle: ChildHandle = {
    proc,
    output: () => output,
    exited,
    kill(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      handle.kill("SIGKILL");
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      // Kept bounded: a long run logs a lot.
      output = (output + d.toString()).slice(-200_000);
      const m = ready.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ handle, match: m });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready:\n${output.slice(-2000)}`));
    });
  });
}

export interface DbProcess extends ChildHandle {
  /** mongodb://host:port/?replicaSet=rs0 */
  uri: string;
  /** The URI with a database name. */
  uriFor(dbName: string): string;
}

/** The embedded MongoDB-compatible server as its own process (in memory, replica set rs0: transactions). */
export async function startDbProcess(extraArgs: string[] = []): Promise<DbProcess> {
  const { handle, match } = await launch(
    ["dist/embedded-mongo/cli.js", "--port", "0", ...extraArgs],
    {},
    /listening: (mongodb:\/\/\S+)/,
    "the embedded database",
  );
  const uri = match[1];
  return { ...handle, uri, uriFor: (dbName) => uri.replace("/?", `/${dbName}?`) };
}

export interface ApiProcess extends ChildHandle {
  port: number;
  url: string;
}

/** An API instance on `port` (0: any free port); resolves once it logged that it is ready. */
export async function startApiProcess(env: Record<string, string>, port = 0): Promise<ApiProcess> {
  const { handle, match } = await launch(
    ["dist/index.js"],
    { PORT: String(port), LOG_LEVEL: "info", ...env },
    /"port":(\d+),"msg":"LetsApp API ready/,
    "the API",
  );
  const actual = Number(match[1]);
  return { ...handle, port: actual, url: `http://127.0.0.1:${actual}` };
}
