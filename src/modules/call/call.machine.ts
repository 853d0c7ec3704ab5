/**
 * The call state machine, as one pure function: given a call as stored, who acts, what they do
 * and when, it returns the call's next fields or throws. Nothing here touches the database, so
 * every transition rule lives in one place and the service only reads, decides, and writes
 * with a revision check (a concurrent change makes it decide again on the fresh document).
 *
 *   INITIATED --ring--> RINGING --accept--> ONGOING --end / last leave--> ENDED
 *   INITIATED|RINGING --reject--> REJECTED   (direct: the recipient; group: every member declined)
 *   INITIATED|RINGING --timeout / caller hangs up--> MISSED
 *
 * Everything else is INVALID_CALL_STATE.
 */
import type { Types } from "mongoose";
import { AppError, ErrorCode, forbidden } from "../../errors.js";
import { CallStatus, FINAL_STATUSES, UNANSWERED_STATUSES, type CallParticipant } from "./call.entity.js";

export type CallAction = "ring" | "accept" | "reject" | "join" | "leave" | "end" | "timeout";

/** What the machine reads of a call. */
export interface CallState {
  caller_id: Types.ObjectId;
  recipient_id?: Types.ObjectId | null;
  group_id?: Types.ObjectId | null;
  status: CallStatus;
  participants: CallParticipant[];
  involved_ids: Types.ObjectId[];
  ring_deadline?: Date | null;
  accepted_at?: Date | null;
}

export interface Actor {
  id: string;
  /** Group calls: the actor is an admin of the group (may end the call for everyone). */
  isGroupAdmin?: boolean;
}

/** The fields to write; `null` values are unset. */
export interface CallChange {
  status?: CallStatus;
  participants?: CallParticipant[];
  ended_at?: Date;
  duration?: number;
  accepted_at?: Date;
  /** Unanswered calls: once answered or over, no sweeper looks at it again. */
  ring_deadline?: null;
}

export const invalidState = (status: CallStatus, action: string): AppError =>
  new AppError(ErrorCode.INVALID_CALL_STATE, `Cannot ${action} a call that is ${status.toUpperCase()}`, { status: status.toUpperCase() });

const same = (a: Types.ObjectId, id: string): boolean => a.toHexString() === id;
const copy = (ps: CallParticipant[]): CallParticipant[] => ps.map((p) => ({ user_id: p.user_id, joined_at: p.joined_at, left_at: p.left_at }));
const inCall = (p: CallParticipant): boolean => Boolean(p.joined_at) && !p.left_at;

/** Everyone still in the call leaves at `now`; seconds since the first accept. */
function finish(call: CallState, status: CallStatus, now: Date, current = call.participants): CallChange {
  const participants = copy(current).map((p) => (inCall(p) ? { ...p, left_at: now } : p));
  const change: CallChange = { status, participants, ended_at: now, ring_deadline: null };
  if (status === CallStatus.ENDED && call.accepted_at) change.duration = Math.max(0, Math.round((now.getTime() - call.accepted_at.getTime()) / 1000));
  return change;
}

export function transition(call: CallState, action: CallAction, actor: Actor, now: Date): CallChange {
  const isGroup = Boolean(call.group_id);
  const isCaller = same(call.caller_id, actor.id);
  const status = call.status;
  const unanswered = UNANSWERED_STATUSES.includes(status);
  if (FINAL_STATUSES.includes(status)) throw invalidState(status, action);

  switch (action) {
    case "timeout":
      if (!unanswered) throw invalidState(status, action);
      return finish(call, CallStatus.MISSED, call.ring_deadline ?? now);

    case "ring":
      if (isCaller) throw forbidden("Only the called side reports ringing");
      // A second device (or group member) ringing changes nothing: the call already rings.
      if (status === CallStatus.INITIATED) return { status: CallStatus.RINGING };
      if (status === CallStatus.RINGING) return {};
      throw invalidState(status, action);

    case "accept": {
      if (isCaller) throw forbidden("The caller cannot accept their own call");
      if (status !== CallStatus.RINGING) throw invalidState(status, action);
      const participants = copy(call.participants).filter((p) => !same(p.user_id, actor.id));
      participants.push({ user_id: participantId(call, actor.id), joined_at: now });
      return { status: CallStatus.ONGOING, participants, accepted_at: now, ring_deadline: null };
    }

    case "reject": {
      if (isCaller) throw forbidden("The caller hangs up with endCall or leaveCall");
      if (!unanswered) throw invalidState(status, action);
      if (!isGroup) return finish(call, CallStatus.REJECTED, now);
      if (call.participants.some((p) => same(p.user_id, actor.id))) throw invalidState(status, action);
      const participants = [...copy(call.participants), { user_id: participantId(call, actor.id), left_at: now }];
      const declined = participants.filter((p) => !same(p.user_id, call.caller_id.toHexString()) && p.left_at && !p.joined_at).length;
      const callees = call.involved_ids.filter((id) => !id.equals(call.caller_id)).length;
      return declined >= callees ? finish(call, CallStatus.REJECTED, now, participants) : { participants };
    }

    case "join": {
      if (!isGroup || status !== CallStatus.ONGOING) throw invalidState(status, action);
      const mine = call.participants.find((p) => same(p.user_id, actor.id));
      if (mine && inCall(mine)) return {};
      const participants = copy(call.participants).filter((p) => !same(p.user_id, actor.id));
      participants.push({ user_id: participantId(call, actor.id), joined_at: now });
      return { participants };
    }

    case "leave": {
      // The caller hanging up before anyone answered: the call is missed.
      if (unanswered) {
        if (isCaller) return finish(call, CallStatus.MISSED, now);
        throw invalidState(status, action);
      }
      const mine = call.participants.find((p) => same(p.user_id, actor.id));
      if (!mine || !inCall(mine)) throw invalidState(status, action);
      const participants = copy(call.participants).map((p) => (same(p.user_id, actor.id) ? { ...p, left_at: now } : p));
      // A direct call is over when either side leaves; a group call when its last participant does.
      if (!isGroup || !participants.some(inCall)) return finish(call, CallStatus.ENDED, now, participants);
      return { participants };
    }

    case "end":
      if (unanswered) {
        if (isCaller) return finish(call, CallStatus.MISSED, now);
        if (!isGroup) return finish(call, CallStatus.REJECTED, now);
        throw invalidState(status, action);
      }
      if (isGroup && !isCaller && !actor.isGroupAdmin) throw forbidden("Only the caller or a group admin can end a group call; others leave it");
      return finish(call, CallStatus.ENDED, now);
  }
}

/** The participant entry's user id (an ObjectId of the call's own, so the stored list stays typed). */
function participantId(call: CallState, id: string): Types.ObjectId {
  const known = [call.caller_id, call.recipient_id, ...call.involved_ids].find((x) => x && same(x, id));
  if (known) return known;
  // A group member who joined the group after the call started.
  const Ctor = call.caller_id.constructor as new (hex: string) => Types.ObjectId;
  return new Ctor(id);
}
