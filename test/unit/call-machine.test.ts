/**
 * The call state machine, exhaustively: every status × action × role, direct and group. What
 * is allowed is listed; everything else must throw INVALID_CALL_STATE or FORBIDDEN.
 */
import { describe, expect, it } from "vitest";
import { Types } from "mongoose";
import { AppError } from "../../src/errors.js";
import { CallStatus } from "../../src/modules/call/call.entity.js";
import { type CallAction, type CallState, transition } from "../../src/modules/call/call.machine.js";

const caller = new Types.ObjectId();
const callee = new Types.ObjectId();
const third = new Types.ObjectId();
const t0 = new Date("2026-01-01T08:00:00Z");
const now = new Date("2026-01-01T08:01:30Z");

function state(status: CallStatus, group: boolean): CallState {
  const ongoing = status === CallStatus.ONGOING;
  return {
    caller_id: caller,
    recipient_id: group ? null : callee,
    group_id: group ? new Types.ObjectId() : null,
    status,
    participants: [{ user_id: caller, joined_at: t0 }, ...(ongoing ? [{ user_id: callee, joined_at: t0 }] : [])],
    involved_ids: group ? [caller, callee, third] : [caller, callee],
    ring_deadline: ongoing ? null : new Date(t0.getTime() + 45_000),
    accepted_at: ongoing ? t0 : null,
  };
}

const ACTIONS: CallAction[] = ["ring", "accept", "reject", "join", "leave", "end", "timeout"];

/** [kind, status, actor, action] → resulting status (same status: allowed without a change of status). */
const ALLOWED: Record<string, CallStatus> = {
  "direct initiated callee ring": CallStatus.RINGING,
  "direct ringing callee ring": CallStatus.RINGING,
  "direct ringing callee accept": CallStatus.ONGOING,
  "direct initiated callee reject": CallStatus.REJECTED,
  "direct ringing callee reject": CallStatus.REJECTED,
  "direct initiated callee end": CallStatus.REJECTED,
  "direct ringing callee end": CallStatus.REJECTED,
  "direct initiated caller leave": CallStatus.MISSED,
  "direct ringing caller leave": CallStatus.MISSED,
  "direct initiated caller end": CallStatus.MISSED,
  "direct ringing caller end": CallStatus.MISSED,
  "direct initiated caller timeout": CallStatus.MISSED,
  "direct ringing caller timeout": CallStatus.MISSED,
  "direct initiated callee timeout": CallStatus.MISSED,
  "direct ringing callee timeout": CallStatus.MISSED,
  "direct ongoing caller leave": CallStatus.ENDED,
  "direct ongoing callee leave": CallStatus.ENDED,
  "direct ongoing caller end": CallStatus.ENDED,
  "direct ongoing callee end": CallStatus.ENDED,
  "group initiated callee ring": CallStatus.RINGING,
  "group ringing callee ring": CallStatus.RINGING,
  "group ringing callee accept": CallStatus.ONGOING,
  "group initiated callee reject": CallStatus.INITIATED,
  "group ringing callee reject": CallStatus.RINGING,
  "group initiated caller leave": CallStatus.MISSED,
  "group ringing caller leave": CallStatus.MISSED,
  "group initiated caller end": CallStatus.MISSED,
  "group ringing caller end": CallStatus.MISSED,
  "group initiated caller timeout": CallStatus.MISSED,
  "group ringing caller timeout": CallStatus.MISSED,
  "group initiated callee timeout": CallStatus.MISSED,
  "group ringing callee timeout": CallStatus.MISSED,
  "group ongoing caller leave": CallStatus.ONGOING,
  "group ongoing callee leave": CallStatus.ONGOING,
  "group ongoing caller end": CallStatus.ENDED,
  "group ongoing caller join": CallStatus.ONGOING,
  "group ongoing callee join": CallStatus.ONGOING,
};

describe("call state machine", () => {
  for (const kind of ["direct", "group"] as const) {
    for (const status of Object.values(CallStatus)) {
      it(`${kind} call, ${status}: only the listed actions are allowed`, () => {
        const outcomes: Record<string, string> = {};
        const expected: Record<string, string> = {};
        for (const role of ["caller", "callee"] as const) {
          for (const action of ACTIONS) {
            const key = `${kind} ${status} ${role} ${action}`;
            expected[key] = ALLOWED[key] ?? "refused";
            try {
              const change = transition(state(status, kind === "group"), action, { id: (role === "caller" ? caller : callee).toHexString() }, now);
              outcomes[key] = change.status ?? status;
            } catch (e) {
              const code = e instanceof AppError ? e.extensions.code : String(e);
              outcomes[key] = code === "INVALID_CALL_STATE" || code === "FORBIDDEN" ? "refused" : `unexpected ${code}`;
            }
          }
        }
        expect(outcomes).toEqual(expected);
      });
    }
  }

  it("sets duration from the first accept and closes every open participation at the end", () => {
    const change = transition(state(CallStatus.ONGOING, false), "end", { id: caller.toHexString() }, now);
    expect(change).toMatchObject({ status: CallStatus.ENDED, duration: 90, ended_at: now });
    expect(change.participants!.every((p) => p.left_at === now)).toBe(true);
  });

  it("dates a timed-out call at its deadline, without a duration", () => {
    const call = state(CallStatus.RINGING, false);
    const change = transition(call, "timeout", { id: caller.toHexString() }, now);
    expect(change).toMatchObject({ status: CallStatus.MISSED, ended_at: call.ring_deadline });
    expect(change.duration).toBeUndefined();
  });
});
