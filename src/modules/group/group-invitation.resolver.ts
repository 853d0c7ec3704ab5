/** Group invitations part of the API; thin: the rules are in GroupService / GroupInvitationService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ConnectionType, type Connection } from "../../common/connection.js";
import { User } from "../user/user.entity.js";
import { loadUser } from "../user/load-user.js";
import { Group } from "./group.entity.js";
import { GroupInvitation } from "./group-invitation.entity.js";
import type { Entity } from "../../common/lean.js";

export const GroupInvitationConnection = ConnectionType("GroupInvitation", () => GroupInvitation);

@Resolver(() => GroupInvitation)
export class GroupInvitationResolver {
  @Authorized()
  @Query(() => GroupInvitationConnection, { description: "Invitations to groups the viewer has not answered yet (they expire after 14 days), newest first." })
  groupInvitations(
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<Connection<DocumentType<GroupInvitation>>> {
    return ctx.services.groupInvitations.list(viewerId, { first, after });
  }

  @Authorized()
  @Mutation(() => Group, { description: "Joins the group, if it still exists and the inviter is still its admin (NOT_FOUND otherwise)." })
  acceptGroupInvitation(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    return ctx.services.groups.acceptInvitation(viewerId, id);
  }

  @Authorized()
  @Mutation(() => Boolean)
  declineGroupInvitation(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.groupInvitations.decline(viewerId, id);
  }

  @FieldResolver(() => ID)
  id(@Root() inv: DocumentType<GroupInvitation>): string {
    return inv._id.toHexString();
  }

  @FieldResolver(() => ID)
  groupId(@Root() inv: DocumentType<GroupInvitation>): string {
    return inv.group_id.toHexString();
  }

  /** What the invitee may know before joining: the name and size, not the member list. */
  @FieldResolver(() => String, { nullable: true, description: "Null when the group no longer exists." })
  async groupName(@Root() inv: DocumentType<GroupInvitation>, @Ctx() ctx: Context): Promise<string | null> {
    return (await ctx.loaders.group.load(inv.group_id.toHexString()))?.name ?? null;
  }

  @FieldResolver(() => Int, { nullable: true })
  async groupMemberCount(@Root() inv: DocumentType<GroupInvitation>, @Ctx() ctx: Context): Promise<number | null> {
    return (await ctx.loaders.group.load(inv.group_id.toHexString()))?.members.length ?? null;
  }

  @FieldResolver(() => User)
  inviter(@Root() inv: DocumentType<GroupInvitation>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, inv.inviter_id.toHexString());
  }
}
