/**
 * The real process (`node dist/index.js`, compiled by the global setup) as users run it: its
 * output (pino lines on stdout, anything else on stderr) collected for the test to read.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface RunningApi {
  proc: ChildProcess;
  /** The port it listens on; 0 when it exited before listening. */
  port: number;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** stderr alone. */
  stderr(): string;
  exited: Promise<number | null>;
}

/**
 * Starts the API with exactly `env`; resolves once it listens (or with the exit, when it stops
 * early). `onSpawn` gets the process at once, so a test that times out can still kill it.
 */
export function spawnApi(
  env: NodeJS.ProcessEnv,
  args = ["dist/index.js"],
  onSpawn: (proc: ChildProcess) => void = () => undefined,
  /** Another program than this node (e.g. npm), or its own process group (`detached`, as a shell's foreground job). */
  how: { command?: string; detached?: boolean } = {},
): Promise<RunningApi> {
  const proc = spawn(how.command ?? process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: how.detached ?? false });
  onSpawn(proc);
  let output = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve) => {
    const running = (port: number): RunningApi => ({ proc, port, output: () => output, stderr: () => stderr, exited });
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /"port":(\d+),"msg":"LetsApp API ready/.exec(output);
      if (m) resolve(running(Number(m[1])));
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      onData(d);
    });
    void exited.then(() => resolve(running(0)));
  });
}

/** The pino lines of an output, parsed (other lines skipped). */
export function logLines(output: string): Array<Record<string, unknown>> {
  return output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
