/** Groups part of the contract; thin: every rule is in GroupService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { pageArray, type Connection } from "../../common/connection.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { Media } from "../media/media.entity.js";
import { Group, GroupRole } from "./group.entity.js";
import { CreateGroupInput, GroupConnection, GroupMemberConnection, UpdateGroupInput } from "./group.inputs.js";
import { loadUser } from "../user/load-user.js";

@Resolver(() => Group)
export class GroupResolver {
  @Authorized()
  @Query(() => Group, { nullable: true, description: "Members only: NOT_FOUND for others, as for an unknown id." })
  group(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.getForMember(ctx.viewer!.id, id);
  }

  @Authorized()
  @Query(() => GroupConnection)
  myGroups(
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<DocumentType<Group>>> {
    return ctx.services.groups.mine(ctx.viewer!.id, { first, after });
  }

  @Authorized()
  @Mutation(() => Group)
  createGroup(@Arg("input", () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.create(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  updateGroup(@Arg("id", () => ID) id: string, @Arg("input", () => UpdateGroupInput) input: UpdateGroupInput, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.update(ctx.viewer!.id, id, input);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  addGroupMembers(@Arg("groupId", () => ID) groupId: string, @Arg("userIds", () => [ID]) userIds: string[], @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.addMembers(ctx.viewer!.id, groupId, userIds);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only." })
  removeGroupMember(@Arg("groupId", () => ID) groupId: string, @Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.removeMember(ctx.viewer!.id, groupId, userId);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only. The last admin cannot demote themself." })
  setGroupRole(
    @Arg("groupId", () => ID) groupId: string,
    @Arg("userId", () => ID) userId: string,
    @Arg("role", () => GroupRole) role: GroupRole,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Group>> {
    return ctx.services.groups.setRole(ctx.viewer!.id, groupId, userId, role);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "When the last admin leaves, the longest-standing member becomes admin." })
  leaveGroup(@Arg("groupId", () => ID) groupId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.groups.leave(ctx.viewer!.id, groupId);
  }

  @Authorized()
  @Mutation(() => Group, { description: "Admins only: is_active false; the group stays readable, nobody can post." })
  deactivateGroup(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.deactivate(ctx.viewer!.id, id);
  }

  @FieldResolver(() => Media, { nullable: true })
  icon(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<DocumentType<Media> | null> | null {
    return group.icon ? ctx.loaders.media.load(group.icon) : null;
  }

  @FieldResolver(() => User)
  async creator(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, group.creator_id.toHexString());
  }

  @FieldResolver(() => GroupMemberConnection)
  async members(
    @Root() group: DocumentType<Group>,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<{ user: DocumentType<User> | null; role: GroupRole }>> {
    const admins = new Set(group.admins.map((a) => a.toHexString()));
    const page = pageArray(group.members.map((m) => m.toHexString()), { first, after }, 50);
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node));
    return {
      ...page,
      edges: page.edges.map((e, i) => ({
        cursor: e.cursor,
        node: { user: users[i] instanceof Error ? null : (users[i] as DocumentType<User> | null), role: admins.has(e.node) ? GroupRole.ADMIN : GroupRole.MEMBER },
      })),
    };
  }

  @FieldResolver(() => Int)
  memberCount(@Root() group: DocumentType<Group>): number {
    return group.members.length;
  }

  @FieldResolver(() => [User])
  async admins(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Array<DocumentType<User>>> {
    const users = await ctx.loaders.user.loadMany(group.admins.map((a) => a.toHexString()));
    return users.filter((u): u is DocumentType<User> => Boolean(u) && !(u instanceof Error));
  }

  @FieldResolver(() => [User], { description: "Users invited (their groupAddPolicy asked for it) who have not answered yet; admins only, empty for others." })
  async invitedUsers(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): Promise<Array<DocumentType<User>>> {
    const ids = await ctx.services.groups.invitees(ctx.viewer?.id ?? "", group);
    const users = await ctx.loaders.user.loadMany(ids);
    return users.filter((u): u is DocumentType<User> => Boolean(u) && !(u instanceof Error));
  }

  @FieldResolver(() => GroupRole, { nullable: true, description: "Null when the viewer is not a member." })
  viewerRole(@Root() group: DocumentType<Group>, @Ctx() ctx: Context): GroupRole | null {
    const me = ctx.viewer?.id;
    if (!me || !group.members.some((m) => m.toHexString() === me)) return null;
    return group.admins.some((a) => a.toHexString() === me) ? GroupRole.ADMIN : GroupRole.MEMBER;
  }
}
