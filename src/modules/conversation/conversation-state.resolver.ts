/**
 * The viewer's own state of a conversation: mute, archive, pin to the top, mark unread (the
 * rules in conversation-state.service.ts), and the fields showing it. Fields read the viewer's
 * entry of the snapshot, so they cost nothing on lists and live events.
 */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ConversationType } from "./conversation.type.js";
import { type ConversationSnapshot, marksOf } from "./conversation.view.js";
import { MuteConversationArgs } from "./conversation-state.args.js";

function mine(conv: ConversationSnapshot, ctx: Context) {
  return marksOf(conv, ctx.viewer?.id ?? "");
}

@Resolver(() => ConversationType)
export class ConversationStateResolver {
  @Authorized()
  @Mutation(() => ConversationType, { description: "Mutes the conversation for the viewer until `until` (a future time); null or absent unmutes." })
  muteConversation(
    @Args(() => MuteConversationArgs) { conversationId, until }: MuteConversationArgs,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.mute(viewerId, conversationId, until ?? null);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Moves it out of the viewer's conversation list (see `conversations(archived:)`); also unpins it." })
  archiveConversation(
    @Arg("conversationId", () => ID) conversationId: string,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.archive(viewerId, conversationId);
  }

  @Authorized()
  @Mutation(() => ConversationType)
  unarchiveConversation(
    @Arg("conversationId", () => ID) conversationId: string,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.unarchive(viewerId, conversationId);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Pins it to the top of the viewer's list (at most 5 pinned; unarchives it)." })
  pinConversation(@Arg("conversationId", () => ID) conversationId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.pin(viewerId, conversationId);
  }

  @Authorized()
  @Mutation(() => ConversationType)
  unpinConversation(@Arg("conversationId", () => ID) conversationId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.unpin(viewerId, conversationId);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Shows it as unread to the viewer (isMarkedUnread) until their next markRead." })
  markConversationUnread(
    @Arg("conversationId", () => ID) conversationId: string,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<ConversationSnapshot> {
    return ctx.services.conversationState.markUnread(viewerId, conversationId);
  }

  @FieldResolver(() => Date, { nullable: true })
  mutedUntil(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Date | null {
    const until = mine(conv, ctx)?.mutedUntil;
    // A mute that ran out is no mute: nothing needs to clear it.
    return until && Date.parse(until) > Date.now() ? new Date(until) : null;
  }

  @FieldResolver(() => Boolean)
  isArchived(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): boolean {
    return mine(conv, ctx)?.archived === true;
  }

  @FieldResolver(() => Boolean)
  isPinned(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): boolean {
    return Boolean(mine(conv, ctx)?.pinnedAt);
  }

  @FieldResolver(() => Boolean)
  isMarkedUnread(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): boolean {
    return mine(conv, ctx)?.markedUnread === true;
  }
}
