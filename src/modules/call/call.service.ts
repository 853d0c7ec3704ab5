/**
 * Calls: who may call whom, the state machine's writes (read, decide with `transition`, write
 * with a revision check, retry on a concurrent change), the ring timeout, WebRTC signal relay
 * and publishing every change on callUpdated.
 *
 * The ring timeout is stored (`ring_deadline`), not only kept in a timer: the instance that
 * started the call arms a timer for it, every instance sweeps for overdue calls, and any
 * action on an overdue call marks it MISSED first. Whichever comes first wins through the
 * revision check, and the change is published once.
 */
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { AppError, ErrorCode, badInput, forbidden, notFound, type FieldError } from "../../errors.js";
import { parseId } from "../../common/ids.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import type { AppPubSub } from "../../pubsub.js";
import type { CallJson, CallSignalEvent, CallTopics, CallUpdatedEvent } from "./call.events.js";
import type { ConversationTopics } from "../conversation/conversation.events.js";
import type { UserTopics } from "../user/user.events.js";
import type { ContactService } from "../contact/contact.service.js";
import { type Call, CallStatus, FINAL_STATUSES, UNANSWERED_STATUSES } from "./call.entity.js";
import { type Actor, type CallAction, type CallChange, invalidState, transition } from "./call.machine.js";
import type { StartCallInput } from "./call.input.js";
import { BACKGROUND_COMMENT } from "../../common/database.js";

/** Largest relayed WebRTC signal (JSON bytes). */
export const MAX_SIGNAL_BYTES = 64 * 1024;
/** Largest call metadata (JSON bytes). */
export const MAX_METADATA_BYTES = 8 * 1024;
const MAX_WRITE_ATTEMPTS = 8;

export interface CallServiceOptions {
  ringTimeoutMs: number;
  guard: AbuseGuard;
  onError?: (err: unknown) => void;
}

/** Keys MongoDB would treat as operators or paths have no place in stored metadata. */
function unsafeKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(unsafeKey);
  if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => k.startsWith("$") || k.includes(".") || unsafeKey(v));
  return false;
}

export class CallService {
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly models: Models,
    private readonly contacts: ContactService,
    private readonly pubSub: AppPubSub<ConversationTopics & UserTopics & CallTopics>,
    private readonly options: CallServiceOptions,
  ) {}

  /** Starts this instance's sweep for overdue unanswered calls. */
  startTimers(): void {
    const every = Math.min(5000, Math.max(250, Math.floor(this.options.ringTimeoutMs / 3)));
    this.sweeper = setInterval(() => void this.sweepDue().catch((e) => this.options.onError?.(e)), every);
    this.sweeper.unref();
  }

  stopTimers(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Marks every overdue unanswered call MISSED; returns how many this instance marked. */
  async sweepDue(now = new Date()): Promise<number> {
    const due = await this.models.Call.find({
      status: mongoose.trusted({ $in: UNANSWERED_STATUSES }),
      ring_deadline: mongoose.trusted({ $lte: now }),
    })
      .limit(100)
      .comment(BACKGROUND_COMMENT);
    let marked = 0;
    for (const call of due) if ((await this.expireIfDue(call, now)).marked) marked++;
    return marked;
  }

  private arm(call: DocumentType<Call>): void {
    const delay = Math.max(0, (call.ring_deadline?.getTime() ?? 0) - Date.now()) + 20;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.models.Call.findById(call._id)
        .then((fresh) => (fresh ? this.expireIfDue(fresh) : null))
        .catch((e) => this.options.onError?.(e));
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** MISSED if the call is unanswered past its deadline (published once, by whoever wins). */
  private async expireIfDue(call: DocumentType<Call>, now = new Date()): Promise<{ call: DocumentType<Call>; marked: boolean }> {
    if (!UNANSWERED_STATUSES.includes(call.status) || !call.ring_deadline || call.ring_deadline > now) return { call, marked: false };
    const written = await this.write(call, transition(call, "timeout", { id: call.caller_id.toHexString() }, now));
    if (written) return { call: written, marked: true };
    const fresh = await this.models.Call.findById(call._id);
    return { call: fresh ?? call, marked: false };
  }

  private async write(call: DocumentType<Call>, change: CallChange): Promise<DocumentType<Call> | null> {
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, 1> = {};
    for (const [k, v] of Object.entries(change)) {
      if (v === null) $unset[k] = 1;
      else $set[k] = v;
    }
    const written = await this.models.Call.findOneAndUpdate(
      { _id: call._id, rev: call.rev },
      { $set, ...(Object.keys($unset).length ? { $unset } : {}), $inc: { rev: 1 } },
      { returnDocument: "after" },
    );
    if (written) this.publish(written);
    return written;
  }

  private publish(call: DocumentType<Call>): void {
    const { involved_ids: _involved, ...json } = JSON.parse(JSON.stringify(call.toObject())) as CallJson;
    const event: CallUpdatedEvent = { type: "call.updated", call: json };
    if (call.group_id) void this.pubSub.publish("CONVERSATION", call.group_id.toHexString(), event);
    else for (const u of [call.caller_id, call.recipient_id!]) void this.pubSub.publish("USER", u.toHexString(), event);
  }

  /** A call as an event carried it, as a document again (ids and dates cast back). */
  fromJson(json: CallJson): DocumentType<Call> {
    return new this.models.Call(json) as DocumentType<Call>;
  }

  /** Who the viewer is in this call, or null when they may not see it. */
  private async actorOf(viewerId: string, call: Call): Promise<Actor | null> {
    if (call.group_id) {
      const group = await this.models.Group.findOne({ _id: call.group_id, members: new Types.ObjectId(viewerId) }, { admins: 1 }).lean();
      if (!group) return null;
      return { id: viewerId, isGroupAdmin: group.admins.some((a) => a.toHexString() === viewerId) };
    }
    return call.caller_id.toHexString() === viewerId || call.recipient_id?.toHexString() === viewerId ? { id: viewerId } : null;
  }

  private async load(viewerId: string, callId: string): Promise<{ call: DocumentType<Call>; actor: Actor }> {
    const call = await this.models.Call.findById(parseId(callId, "callId"));
    const actor = call && (await this.actorOf(viewerId, call));
    if (!call || !actor) throw notFound("Call");
    return { call, actor };
  }

  /** The call if the viewer takes part in it or is called to it (overdue ones marked first). */
  async get(viewerId: string, callId: string): Promise<DocumentType<Call>> {
    const { call } = await this.load(viewerId, callId);
    return (await this.expireIfDue(call)).call;
  }

  history(viewerId: string, page: PageArgs): Promise<Connection<DocumentType<Call>>> {
    return paginate(this.models.Call, { involved_ids: new Types.ObjectId(viewerId) }, [["started_at", -1]], page, 20) as Promise<
      Connection<DocumentType<Call>>
    >;
  }

  async start(viewerId: string, input: StartCallInput): Promise<DocumentType<Call>> {
    const fields: FieldError[] = [];
    if (Boolean(input.recipientId) === Boolean(input.groupId)) fields.push({ field: "recipientId", message: "give exactly one of recipientId and groupId" });
    if (input.metadata !== undefined && input.metadata !== null) {
      if (typeof input.metadata !== "object" || Array.isArray(input.metadata)) fields.push({ field: "metadata", message: "metadata must be a JSON object" });
      else if (Buffer.byteLength(JSON.stringify(input.metadata)) > MAX_METADATA_BYTES)
        fields.push({ field: "metadata", message: `metadata is larger than ${MAX_METADATA_BYTES} bytes` });
      else if (unsafeKey(input.metadata)) fields.push({ field: "metadata", message: "metadata keys may not start with $ or contain a dot" });
    }
    if (fields.length) throw badInput(fields);
    const caller = new Types.ObjectId(viewerId);
    const me = await this.models.User.findById(caller, { is_active: 1 }).lean();
    if (!me?.is_active) throw forbidden("Your account is not active");

    let involved: Types.ObjectId[];
    const target: { recipient_id?: Types.ObjectId; group_id?: Types.ObjectId } = {};
    if (input.recipientId) {
      const recipientId = parseId(input.recipientId, "recipientId");
      if (recipientId.equals(caller)) throw badInput([{ field: "recipientId", message: "you cannot call yourself" }]);
      const recipient = await this.models.User.findById(recipientId, { is_active: 1 }).lean();
      if (!recipient) throw notFound("User");
      if (!recipient.is_active) throw forbidden("This user is not active");
      if (await this.contacts.blockedBetween(caller, recipientId)) throw new AppError(ErrorCode.BLOCKED, "You cannot call this user");
      involved = [caller, recipientId];
      target.recipient_id = recipientId;
    } else {
      const groupId = parseId(input.groupId!, "groupId");
      const group = await this.models.Group.findOne({ _id: groupId, members: caller }, { members: 1, is_active: 1 }).lean();
      if (!group) throw notFound("Group");
      if (!group.is_active) throw forbidden("This group is deactivated");
      if (group.members.length < 2) throw badInput([{ field: "groupId", message: "the group has nobody else to call" }]);
      involved = group.members;
      target.group_id = groupId;
    }
    const now = new Date();
    const call = (await this.models.Call.create({
      caller_id: caller,
      ...target,
      call_type: input.callType,
      status: CallStatus.INITIATED,
      started_at: now,
      participants: [{ user_id: caller, joined_at: now }],
      ...(input.metadata ? { metadata: input.metadata as Record<string, unknown> } : {}),
      involved_ids: involved,
      ring_deadline: new Date(now.getTime() + this.options.ringTimeoutMs),
      rev: 0,
    })) as DocumentType<Call>;
    this.arm(call);
    this.publish(call);
    return call;
  }

  /** One action of the state machine, retried on a concurrent change. */
  async act(viewerId: string, callId: string, action: Exclude<CallAction, "timeout">): Promise<DocumentType<Call>> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const loaded = await this.load(viewerId, callId);
      const { call } = await this.expireIfDue(loaded.call);
      const change = transition(call, action, loaded.actor, new Date());
      if (Object.keys(change).length === 0) return call;
      const written = await this.write(call, change);
      if (written) return written;
    }
    throw new Error(`call ${callId} kept changing while ${action} was applied`);
  }

  /** Relays a WebRTC signal to one other participant's callSignal subscription. */
  async signal(viewerId: string, callId: string, toUserId: string, signal: unknown): Promise<boolean> {
    if (signal === null || signal === undefined) throw badInput([{ field: "signal", message: "signal is required" }]);
    if (Buffer.byteLength(JSON.stringify(signal)) > MAX_SIGNAL_BYTES)
      throw badInput([{ field: "signal", message: `signal is larger than ${MAX_SIGNAL_BYTES} bytes` }]);
    const to = parseId(toUserId, "toUserId");
    if (to.toHexString() === viewerId) throw badInput([{ field: "toUserId", message: "signal another participant, not yourself" }]);
    const { call } = await this.load(viewerId, callId);
    if (FINAL_STATUSES.includes(call.status)) throw invalidState(call.status, "signal in");
    if (!(await this.actorOf(to.toHexString(), call))) throw notFound("Participant");
    // A block ends the live view between the two, in direct and group calls alike.
    if (await this.contacts.blockedBetween(new Types.ObjectId(viewerId), to)) throw new AppError(ErrorCode.BLOCKED, "One of you has blocked the other");
    await this.options.guard.callSignal(viewerId);
    this.pubSub.publish("CALL_SIGNAL", `${call._id.toHexString()}:${to.toHexString()}`, { callId: call._id.toHexString(), fromId: viewerId, signal });
    return true;
  }

  /** The callSignal subscription's check: the viewer may see the call. */
  /** The WebRTC signals sent to `viewerId` in one call (visibility checked by the caller). */
  signals(callId: string, viewerId: string): AsyncIterable<CallSignalEvent> {
    return this.pubSub.subscribe("CALL_SIGNAL", `${callId}:${viewerId}`);
  }

  async requireVisible(viewerId: string, callId: string): Promise<string> {
    return (await this.load(viewerId, callId)).call._id.toHexString();
  }
}

declare module "../../context.js" {
  interface Services {
    calls: CallService;
  }
}
