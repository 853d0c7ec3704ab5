/**
 * Users part of the contract: lookups and the fields only the user themself may see.
 * Roots are typed Entity<User> (a plain object from the loader, or a document), not User: with a
 * class type, type-graphql copies the root into a new instance, which drops a mongoose document's
 * getters (`_id`). Fields of User that
 * belong to a higher feature are resolved there (contact, profilePicture, presence).
 */
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import type { Connection } from "../../common/connection.js";
import type { Context } from "../../context.js";
import { parseId } from "../../common/ids.js";
import { notFound } from "../../errors.js";
import { ViewerId } from "../../auth/current-user.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { User, UserSettings } from "./user.entity.js";
import { UserConnection } from "./user.type.js";
import { SearchUsersArgs } from "./user.args.js";
import { type UserRoot, userIdOf } from "./user.view.js";
import { loadUser } from "./load-user.js";
import { canSee } from "./visibility.js";
import type { Entity } from "../../common/lean.js";

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => UserConnection, { description: "Prefix match on username and full name; inactive users and users who blocked the viewer are left out." })
  async searchUsers(
    @Args(() => SearchUsersArgs) { query, first, after }: SearchUsersArgs,
    @Ctx() ctx: Context,
    @ViewerId() viewerId: string,
  ): Promise<Connection<Entity<User>>> {
    const exclude = await ctx.services.contacts.blockedBy(viewerId);
    return ctx.services.users.search(query, exclude, { first, after });
  }

  @Authorized()
  @Query(() => User)
  async me(@Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<Entity<User>> {
    return loadUser(ctx, viewerId);
  }

  @Authorized()
  @Query(() => User, { nullable: true })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, parseId(id).toHexString());
  }

  @Authorized()
  @Query(() => User, { nullable: true })
  async userByUsername(@Arg("username") username: string, @Ctx() ctx: Context): Promise<Entity<User>> {
    const user = await ctx.services.users.findByUsername(username);
    if (!user) throw notFound("User");
    return user;
  }

  @FieldResolver(() => ID)
  id(@Root() user: UserRoot): string {
    return userIdOf(user);
  }

  /** The full document of the viewer themself (a snapshot lacks private fields). */
  private async self(user: UserRoot, ctx: Context): Promise<Entity<User> | null> {
    const id = userIdOf(user);
    if (ctx.viewer?.id !== id) return null;
    return "email" in user && user.email ? (user as Entity<User>) : ctx.loaders.user.load(id);
  }

  @ViewerSpecific()
  @FieldResolver(() => String, { nullable: true, description: "Visible to the user themself only; null for others." })
  async email(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<string | null> {
    return (await this.self(user, ctx))?.email ?? null;
  }

  @ViewerSpecific()
  @FieldResolver(() => UserSettings, { nullable: true, description: "Visible to the user themself only." })
  async settings(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<UserSettings | null> {
    return (await this.self(user, ctx))?.settings ?? null;
  }

  @ViewerSpecific()
  @FieldResolver(() => String, {
    nullable: true,
    description: "By the user's phoneNumberVisibility (default: their contacts); null for those who may not see it.",
  })
  async phoneNumber(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<string | null> {
    if (!user.phone_number) return null;
    return (await canSee(ctx, user, "phone_number_visibility")) ? user.phone_number : null;
  }

  @ViewerSpecific()
  @FieldResolver(() => Date, {
    nullable: true,
    description: "By the user's lastSeenVisibility (default: their contacts); null for users who blocked the viewer.",
  })
  async lastSeen(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<Date | string | null> {
    if (!(await canSee(ctx, user, "last_seen_visibility"))) return null;
    return user.last_seen ?? null;
  }
}
