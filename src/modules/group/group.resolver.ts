/** Groups part of the contract; thin: every rule is in GroupService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { pageArray, type Connection } from "../../common/connection.js";
import { ForwardPage, type ForwardPageArgs } from "../../common/page.args.js";
import { ViewerId } from "../../auth/current-user.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { User } from "../user/user.entity.js";
import { Media } from "../media/media.entity.js";
import { Group, GroupRole } from "./group.entity.js";
import { CreateGroupInput, UpdateGroupInput } from "./group.input.js";
import { GroupConnection, GroupMemberConnection } from "./group.type.js";
import { loadUser } from "../user/load-user.js";
import type { Entity } from "../../common/lean.js";

/**
 * Paging argument classes, made when this module loads: type-graphql builds the schema from a
 * copy of its metadata, so an @ArgsType class first made inside an `@Args` thunk is missing.
 */
const Page20 = ForwardPage(20);
const Page50 = ForwardPage(50);

@Resolver(() => Group)
export class GroupResolver {
  @Authorized()
  @Query(() => Group, { nullable: true, description: "Members only: NOT_FOUND for others, as for an unknown id." })
  group(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.getForMember(viewerId, id);
  }

  @Authorized()
  @Query(() => GroupConnection)
  myGroups(@Args(() => Page20) page: ForwardPageArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Connection<DocumentType<Group>>> {
    return ctx.services.groups.mine(viewerId, page);
  }

  @Authorized()
  @Mutation(() => Group)
  createGroup(@Arg("input", () => CreateGroupInput) input: CreateGroupInput, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.create(viewerId, input);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  updateGroup(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateGroupInput) input: UpdateGroupInput,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Group>> {
    return ctx.services.groups.update(viewerId, id, input);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  addGroupMembers(
    @Arg("groupId", () => ID) groupId: string,
    @Arg("userIds", () => [ID]) userIds: string[],
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Group>> {
    return ctx.services.groups.addMembers(viewerId, groupId, userIds);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  removeGroupMember(
    @Arg("groupId", () => ID) groupId: string,
    @Arg("userId", () => ID) userId: string,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Group>> {
    return ctx.services.groups.removeMember(viewerId, groupId, userId);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only. The last admin cannot demote themself." })
  setGroupRole(
    @Arg("groupId", () => ID) groupId: string,
    @Arg("userId", () => ID) userId: string,
    @Arg("role", () => GroupRole) role: GroupRole,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Group>> {
    return ctx.services.groups.setRole(viewerId, groupId, userId, role);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "When the last admin leaves, the longest-standing member becomes admin." })
  leaveGroup(@Arg("groupId", () => ID) groupId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.groups.leave(viewerId, groupId);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only: is_active false; the group stays readable, nobody can post." })
  deactivateGroup(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.deactivate(viewerId, id);
  }

  @FieldResolver(() => Media, { nullable: true })
  icon(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Entity<Media> | null> | null {
    return group.icon ? ctx.loaders.media.load(group.icon) : null;
  }

  @FieldResolver(() => User)
  async creator(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, group.creator_id.toHexString());
  }

  @FieldResolver(() => GroupMemberConnection)
  async members(
    @Root() group: DocumentType<Group>,
    @Args(() => Page50) args: ForwardPageArgs,
    @Ctx() ctx: Context,
  ): Promise<Connection<{ user: Entity<User> | null; role: GroupRole }>> {
    const admins = new Set(group.admins.map((a) => a.toHexString()));
    const page = pageArray(
      group.members.map((m) => m.toHexString()),
      args,
      50,
    );
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node));
    return {
      ...page,
      edges: page.edges.map((e, i) => ({
        cursor: e.cursor,
        node: {
          user: users[i] instanceof Error ? null : (users[i] as Entity<User> | null),
          role: admins.has(e.node) ? GroupRole.ADMIN : GroupRole.MEMBER,
        },
      })),
    };
  }

  @FieldResolver(() => Int)
  memberCount(@Root() group: DocumentType<Group>): number {
    return group.members.length;
  }

  @FieldResolver(() => [User])
  async admins(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Array<Entity<User>>> {
    const users = await ctx.loaders.user.loadMany(group.admins.map((a) => a.toHexString()));
    return users.filter((u): u is Entity<User> => Boolean(u) && !(u instanceof Error));
  }

  @FieldResolver(() => [User], { description: "Users invited (their groupAddPolicy asked for it) who have not answered yet; admins only, empty for others." })
  @ViewerSpecific()
  async invitedUsers(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Array<Entity<User>>> {
    const ids = await ctx.services.groups.invitees(ctx.viewer?.id ?? "", group);
    const users = await ctx.loaders.user.loadMany(ids);
    return users.filter((u): u is Entity<User> => Boolean(u) && !(u instanceof Error));
  }

  @FieldResolver(() => GroupRole, { nullable: true, description: "Null when the viewer is not a member." })
  @ViewerSpecific()
  viewerRole(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): GroupRole | null {
    const me = ctx.viewer?.id;
    if (!me || !group.members.some((m) => m.toHexString() === me)) return null;
    return group.admins.some((a) => a.toHexString() === me) ? GroupRole.ADMIN : GroupRole.MEMBER;
  }
}
