/**
 * MongoDB's `failCommand` fail point, the way driver tests make a server fail on purpose
 * (`configureFailPoint: "failCommand"`, only with test commands enabled, as in mongod):
 * the next matching commands fail with an error code (before running), run and then report a
 * write concern error, or have their connection closed (before running). Supported data:
 * failCommands, errorCode, errorLabels, writeConcernError, closeConnection; modes "alwaysOn",
 * "off", { times: n }. Anything else is refused, never ignored.
 */
import { MongoServerError, badValue } from "./errors.js";
import type { Doc } from "./values.js";

export interface FailAction {
  closeConnection: boolean;
  /** A reply that replaces the command's (ok: 0), or null. */
  error: Doc | null;
  /** Added to the command's own reply (ok: 1), or null. */
  writeConcernError: Doc | null;
}

const DATA_FIELDS = new Set(["failCommands", "errorCode", "errorLabels", "writeConcernError", "closeConnection", "appName"]);

export class FailPoints {
  private failCommand: { commands: Set<string>; remaining: number; data: Doc } | null = null;

  configure(cmd: Doc): Doc {
    if (cmd.configureFailPoint !== "failCommand")
      throw badValue(`fail point ${String(cmd.configureFailPoint)} is not supported by the embedded server (only failCommand)`);
    const mode = cmd.mode;
    if (mode === "off") {
      this.failCommand = null;
      return { count: 0, ok: 1 };
    }
    let remaining: number;
    if (mode === "alwaysOn") remaining = Infinity;
    else if (mode && typeof mode === "object" && typeof (mode as Doc).times === "number") remaining = (mode as Doc).times as number;
    else throw badValue("mode must be 'alwaysOn', 'off' or { times: n } on the embedded server");
    const data = (cmd.data ?? {}) as Doc;
    for (const k of Object.keys(data)) if (!DATA_FIELDS.has(k)) throw badValue(`failCommand data field '${k}' is not supported by the embedded server`);
    if (!Array.isArray(data.failCommands) || data.failCommands.length === 0) throw badValue("failCommand requires a non-empty failCommands array");
    this.failCommand = { commands: new Set(data.failCommands as string[]), remaining, data };
    return { count: 0, ok: 1 };
  }

  /** What to do with this command, consuming one use of the fail point when it matches. */
  match(name: string, cmd: Doc): FailAction | null {
    const fp = this.failCommand;
    if (!fp || !fp.commands.has(name) || name === "configureFailPoint") return null;
    if (--fp.remaining <= 0) this.failCommand = null;
    const d = fp.data;
    let error: Doc | null = null;
    if (typeof d.errorCode === "number") {
      const labels = Array.isArray(d.errorLabels) ? d.errorLabels : serverErrorLabels(name, cmd, d.errorCode);
      error = { ok: 0, code: d.errorCode, errmsg: `Failing command via 'failCommand' failpoint`, ...(labels.length ? { errorLabels: labels } : {}) };
    }
    return {
      closeConnection: d.closeConnection === true,
      error,
      writeConcernError: d.writeConcernError && typeof d.writeConcernError === "object" ? (d.writeConcernError as Doc) : null,
    };
  }
}

export function testCommandsDisabled(): MongoServerError {
  return new MongoServerError("CommandNotFound", "no such command: 'configureFailPoint' (test commands are not enabled)");
}

/** Codes after which a retryable write or a commit/abort may be retried (MongoDB's isRetriableError). */
const RETRYABLE_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * The labels mongod puts on an error of its own: RetryableWriteError on a retryable code of a
 * retryable write (txnNumber outside a transaction) or of commitTransaction/abortTransaction.
 * Drivers then retry, and label a commit's error UnknownTransactionCommitResult themselves.
 */
export function serverErrorLabels(name: string, cmd: Doc, code: number): string[] {
  const hasTxn = cmd.txnNumber !== undefined && cmd.txnNumber !== null;
  const commitOrAbort = name === "commitTransaction" || name === "abortTransaction";
  const retryableWrite = hasTxn && cmd.autocommit === undefined;
  return (commitOrAbort || retryableWrite) && RETRYABLE_CODES.has(code) ? ["RetryableWriteError"] : [];
}
