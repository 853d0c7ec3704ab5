/** Calls part of the contract; thin: every rule is in CallService and the state machine. */
import type { DocumentType } from "@typegoose/typegoose";
import { JSONScalar } from "../../common/json-scalar.js";
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId, viewerIdOf } from "../../auth/current-user.js";
import { ForwardPage, type ForwardPageArgs } from "../../common/page.args.js";
import type { Connection } from "../../common/connection.js";
import type { CallSignalEvent, CallUpdatedEvent } from "./call.events.js";
import { User } from "../user/user.entity.js";
import { Group } from "../group/group.entity.js";
import { loadUser } from "../user/load-user.js";
import { only } from "../message/streams.js";
import { Call, CallParticipant, CallSignal } from "./call.entity.js";
import { StartCallInput } from "./call.input.js";
import { CallSignalArgs } from "./call.args.js";
import { CallConnection } from "./call.type.js";
import type { Entity } from "../../common/lean.js";

/** Made when this module loads: type-graphql builds the schema from a copy of its metadata. */
const Page20 = ForwardPage(20);

// Roots are typed with aliases, not the classes: type-graphql would copy a root into a new
// instance of a class it is given, losing a mongoose document's getters.
type ParticipantRoot = Pick<CallParticipant, "user_id">;
type SignalRoot = Pick<CallSignal, "from_id">;

/** One document per event, however many of the viewer's connections receive it. */
const revived = new WeakMap<object, DocumentType<Call>>();

@Resolver(() => Call)
export class CallResolver {
  @Authorized()
  @Query(() => Call, { nullable: true })
  call(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.get(viewerId, id);
  }

  @Authorized()
  @Query(() => CallConnection, { description: "The viewer's call history, newest first." })
  calls(@Args(() => Page20) page: ForwardPageArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Connection<DocumentType<Call>>> {
    return ctx.services.calls.history(viewerId, page);
  }

  @Authorized()
  @Mutation(() => Call)
  startCall(@Arg("input", () => StartCallInput) input: StartCallInput, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.start(viewerId, input);
  }

  @Authorized()
  @Mutation(() => Call, { description: "A callee's device reports that it is ringing." })
  ringCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "ring");
  }

  @Authorized()
  @Mutation(() => Call)
  acceptCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "accept");
  }

  @Authorized()
  @Mutation(() => Call)
  rejectCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "reject");
  }

  @Authorized()
  @Mutation(() => Call, { description: "Group calls: join while ONGOING." })
  joinCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "join");
  }

  @Authorized()
  @Mutation(() => Call, { description: "Leaving as the last participant ends the call." })
  leaveCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "leave");
  }

  @Authorized()
  @Mutation(() => Call)
  endCall(@Arg("callId", () => ID) callId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Call>> {
    return ctx.services.calls.act(viewerId, callId, "end");
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Relays a WebRTC offer/answer/ICE candidate to one participant's callSignal subscription." })
  sendCallSignal(
    @Arg("callId", () => ID) callId: string,
    @Arg("toUserId", () => ID) toUserId: string,
    @Arg("signal", () => JSONScalar) signal: unknown,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return ctx.services.calls.signal(viewerId, callId, toUserId, signal);
  }

  @Subscription(() => Call, {
    description: "Every change of a call the viewer takes part in or is called to: incoming, ringing, accepted, participants, ended, missed.",
    subscribe: ({ context }: SubscribeResolverData<unknown, Record<string, never>, Context>) =>
      only(context.services.streams.viewerEvents(viewerIdOf(context)), (ev) => (ev.type === "call.updated" ? ev : null)),
  })
  callUpdated(@Root() event: CallUpdatedEvent, @Ctx() ctx: Context): DocumentType<Call> {
    let call = revived.get(event);
    if (!call) revived.set(event, (call = ctx.services.calls.fromJson(event.call)));
    return call;
  }

  @Subscription(() => CallSignal, {
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, CallSignalArgs, Context>) => {
      const viewer = viewerIdOf(context);
      const callId = await context.services.calls.requireVisible(viewer, args.callId);
      return context.services.calls.signals(callId, viewer);
    },
  })
  callSignal(@Root() event: CallSignalEvent, @Args(() => CallSignalArgs) _args: CallSignalArgs): CallSignal {
    return { call_id: event.callId, from_id: event.fromId, signal: event.signal };
  }

  @FieldResolver(() => User)
  caller(@Root() call: DocumentType<Call>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, call.caller_id.toHexString());
  }

  @FieldResolver(() => User, { nullable: true, description: "Direct calls." })
  recipient(@Root() call: DocumentType<Call>, @Ctx() ctx: Context): Promise<Entity<User> | null> | null {
    return call.recipient_id ? ctx.loaders.user.load(call.recipient_id.toHexString()) : null;
  }

  @FieldResolver(() => Group, { nullable: true, description: "Group calls." })
  group(@Root() call: DocumentType<Call>, @Ctx() ctx: Context): Promise<DocumentType<Group> | null> | null {
    return call.group_id ? ctx.loaders.group.load(call.group_id.toHexString()) : null;
  }
}

@Resolver(() => CallParticipant)
export class CallParticipantResolver {
  @FieldResolver(() => User)
  user(@Root() participant: ParticipantRoot, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, participant.user_id.toHexString());
  }
}

@Resolver(() => CallSignal)
export class CallSignalResolver {
  @FieldResolver(() => User)
  from(@Root() signal: SignalRoot, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, signal.from_id);
  }
}
