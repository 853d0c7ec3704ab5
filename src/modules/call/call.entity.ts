/**
 * A voice or video call (collection `calls`, seed 004), direct (recipient_id) or in a group
 * (group_id). Beside the seed's fields it keeps what the state machine needs:
 * - `involved_ids`: everyone called at the start (caller + recipient, or the group's members),
 *   for the call history index and the MISSED/REJECTED decisions;
 * - `ring_deadline`: when an unanswered call becomes MISSED — stored, so whichever instance
 *   sweeps first marks it, even if the instance that started the call is gone;
 * - `accepted_at`: the first accept, from which `duration` is counted.
 */
import { Severity, index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { JSONScalar } from "../../common/json-scalar.js";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../node/node.interface.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";

export enum CallType {
  VOICE = "voice",
  VIDEO = "video",
}
registerEnumType(CallType, { name: "CallType" });

export enum CallStatus {
  INITIATED = "initiated",
  RINGING = "ringing",
  ONGOING = "ongoing",
  ENDED = "ended",
  MISSED = "missed",
  REJECTED = "rejected",
}
registerEnumType(CallStatus, { name: "CallStatus" });

/** Statuses from which nothing moves any more. */
export const FINAL_STATUSES: readonly CallStatus[] = [CallStatus.ENDED, CallStatus.MISSED, CallStatus.REJECTED];
/** Statuses of a call that has not been answered yet. */
export const UNANSWERED_STATUSES: readonly CallStatus[] = [CallStatus.INITIATED, CallStatus.RINGING];

@ObjectType("CallParticipant")
export class CallParticipant {
  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  @Field(() => Date, { name: "joinedAt", nullable: true })
  @prop({ type: Date })
  joined_at?: Date;

  /** Also set, without joined_at, for a group member who declined. */
  @Field(() => Date, { name: "leftAt", nullable: true })
  @prop({ type: Date })
  left_at?: Date;
}

@ObjectType("Call", { implements: Node })
@index({ involved_ids: 1, started_at: -1 })
@index({ status: 1, ring_deadline: 1 })
@modelOptions({ schemaOptions: { collection: "calls", minimize: true } })
export class Call extends Node {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  caller_id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId })
  recipient_id?: Types.ObjectId;

  @prop({ type: () => Types.ObjectId })
  group_id?: Types.ObjectId;

  @Field(() => CallType, { name: "callType" })
  @prop({ type: String, enum: CallType, required: true })
  call_type!: CallType;

  // Marked as the old list of names did (any `status`): shared execution stays as it was.
  @Field(() => CallStatus)
  @ViewerSpecific()
  @prop({ type: String, enum: CallStatus, required: true })
  status!: CallStatus;

  @Field({ name: "startedAt" })
  @prop({ type: Date, required: true })
  started_at!: Date;

  @Field(() => Date, { name: "endedAt", nullable: true })
  @prop({ type: Date })
  ended_at?: Date;

  @Field(() => Int, { nullable: true, description: "Seconds from the first accept to the end; null until ended." })
  @prop({ type: Number })
  duration?: number;

  @Field(() => [CallParticipant])
  @prop({ type: () => [CallParticipant], _id: false, default: [] })
  participants!: CallParticipant[];

  @Field(() => JSONScalar, { nullable: true })
  /** Free-form JSON object from the caller (validated: size, no operator-like keys). */
  @prop({ type: () => Object, allowMixed: Severity.ALLOW })
  metadata?: Record<string, unknown>;

  @prop({ type: () => [Types.ObjectId], default: [] })
  involved_ids!: Types.ObjectId[];

  @prop({ type: Date })
  ring_deadline?: Date;

  @prop({ type: Date })
  accepted_at?: Date;

  /** Revision: every write checks and bumps it, so concurrent transitions cannot both apply. */
  @prop({ type: Number, required: true, default: 0 })
  rev!: number;
}

@ObjectType("CallSignal")
export class CallSignal {
  @Field(() => ID, { name: "callId" })
  call_id!: string;

  /** Resolved as `from`. */
  from_id!: string;

  @Field(() => JSONScalar)
  signal!: unknown;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Call: typeof Call;
  }
}
