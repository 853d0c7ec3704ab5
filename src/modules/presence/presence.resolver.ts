/** Presence part of the contract, and User.presence; thin: the rules are in PresenceService. */
import { Repeater } from "@repeaterjs/repeater";
import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId, viewerIdOf } from "../../auth/current-user.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import type { PresenceEvent } from "./presence.events.js";
import { User } from "../user/user.entity.js";
import { type UserRoot, userIdOf } from "../user/user.view.js";
import { loadUser } from "../user/load-user.js";
import { PresenceType } from "./presence.type.js";
import { SetPresenceInput } from "./presence.input.js";
import { PresenceArgs, PresenceChangedArgs } from "./presence.args.js";
import { validArgs } from "./valid-args.js";
import { presenceView } from "./presence.service.js";
import { canSee } from "../user/visibility.js";
import type { PresenceView } from "./presence.view.js";
import type { Entity } from "../../common/lean.js";

@Resolver(() => PresenceType)
export class PresenceResolver {
  @Authorized()
  @Query(() => [PresenceType])
  presence(@Args(() => PresenceArgs) { userIds }: PresenceArgs, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<PresenceView[]> {
    return ctx.services.presence.forUsers(viewerId, userIds);
  }

  @Authorized()
  @Mutation(() => PresenceType)
  setPresence(@Arg("input", () => SetPresenceInput) input: SetPresenceInput, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<PresenceView> {
    return ctx.services.presence.set(viewerId, input);
  }

  @Subscription(() => PresenceType, {
    description:
      "Presence of the given users, default the viewer's accepted contacts. Only users whose lastSeenVisibility lets the viewer see it are delivered.",
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, PresenceChangedArgs, Context>) => {
      const viewer = viewerIdOf(context);
      // type-graphql validates a subscription's arguments only when an event is resolved: check them here, before following anyone.
      const { userIds } = await validArgs(PresenceChangedArgs, args);
      const targets = await context.services.presence.watchList(viewer, userIds);
      // One listener per followed user's own topic; a user's block list and the audience their
      // privacy setting allows travel with each event, so delivery reads nothing.
      return new Repeater<PresenceEvent>(async (push, stop) => {
        const unfollow = context.services.presence.follow(targets, viewer, (ev) => void push(ev));
        await stop;
        unfollow();
      });
    },
  })
  presenceChanged(@Root() event: PresenceEvent, @Args(() => PresenceChangedArgs) _args: PresenceChangedArgs): PresenceView {
    return event.presence;
  }

  @FieldResolver(() => User)
  user(@Root() presence: PresenceView, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, presence.userId);
  }

  @FieldResolver(() => Date)
  lastActive(@Root() presence: PresenceView): Date {
    return new Date(presence.lastActive);
  }
}

@Resolver(() => User)
export class UserPresenceResolver {
  @ViewerSpecific()
  @FieldResolver(() => PresenceType, {
    nullable: true,
    description: "By the user's lastSeenVisibility (default: their contacts); null for users who blocked the viewer.",
  })
  async presence(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<PresenceView | null> {
    const id = userIdOf(user);
    if (!(await canSee(ctx, user, "last_seen_visibility"))) return null;
    return (await ctx.loaders.presence.load(id)) ?? presenceView(id, null, (user as { last_seen?: Date }).last_seen ?? null);
  }
}
