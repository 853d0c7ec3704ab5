/**
 * Write concerns as a single-node replica set answers them. The write itself is applied either
 * way; what the write concern changes is what the reply waits for and what it reports:
 * - `j: true`, `fsync: true` or `w: "majority"` (journaled, writeConcernMajorityJournalDefault):
 *   the reply waits until the journal is synced (with a data directory).
 * - the wait is bounded by `wtimeout` (writeConcernError 64, errInfo.wtimeout) and by the
 *   command's maxTimeMS (writeConcernError 50 MaxTimeMSExpired), as MongoDB reports them:
 *   ok: 1, the write happened, its durability is not confirmed. Drivers label such an error of
 *   commitTransaction `UnknownTransactionCommitResult` and may retry the commit.
 * - `w` above 1 cannot be satisfied by one node (100 UnsatisfiableWriteConcern); a tag other
 *   than "majority" is unknown (79 UnknownReplWriteConcern). Both are certain failures.
 */
import type { Doc } from "./values.js";

export interface WriteConcernPlan {
  /** Whether the reply waits for the journal sync. */
  journal: boolean;
  /** The longest the wait may take, and the error when it does (null: no limit). */
  limitMs: number | null;
  limitError: Doc | null;
  /** A write concern this node can never satisfy. */
  unsatisfiable: Doc | null;
}

const num = (v: unknown): number | null => {
  const n = typeof v === "number" ? v : typeof (v as { toNumber?: () => number })?.toNumber === "function" ? (v as { toNumber: () => number }).toNumber() : NaN;
  return Number.isFinite(n) ? n : null;
};

export function planWriteConcern(cmd: Doc): WriteConcernPlan {
  const wc = cmd.writeConcern && typeof cmd.writeConcern === "object" ? (cmd.writeConcern as Doc) : null;
  const plan: WriteConcernPlan = { journal: false, limitMs: null, limitError: null, unsatisfiable: null };
  const maxTimeMS = num(cmd.maxTimeMS);
  if (maxTimeMS !== null && maxTimeMS > 0) {
    plan.limitMs = maxTimeMS;
    plan.limitError = { code: 50, codeName: "MaxTimeMSExpired", errmsg: "operation exceeded time limit while waiting for the journal" };
  }
  if (!wc) return plan;
  plan.journal = wc.j === true || wc.fsync === true || wc.w === "majority";
  const wtimeout = num(wc.wtimeout);
  if (wtimeout !== null && wtimeout > 0 && (plan.limitMs === null || wtimeout < plan.limitMs)) {
    plan.limitMs = wtimeout;
    plan.limitError = { code: 64, codeName: "WriteConcernTimeout", errmsg: "waiting for the journal timed out", errInfo: { wtimeout: true } };
  }
  const w = num(wc.w);
  if (w !== null && w > 1) {
    plan.unsatisfiable = { code: 100, codeName: "UnsatisfiableWriteConcern", errmsg: "Not enough data-bearing nodes" };
  } else if (typeof wc.w === "string" && wc.w !== "majority") {
    plan.unsatisfiable = { code: 79, codeName: "UnknownReplWriteConcern", errmsg: `No write concern mode named '${wc.w}' found in replica set configuration` };
  }
  return plan;
}

/** The reply with a write concern error added (only to a command that succeeded: the write happened). */
export function withWriteConcernError(reply: Doc, error: Doc): Doc {
  if (reply.ok !== 1 || reply.writeConcernError) return reply;
  return { ...reply, writeConcernError: error };
}
