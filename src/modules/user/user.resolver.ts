/**
 * Users part of the contract: lookups and the fields only the user themself may see.
 * Roots are typed DocumentType<User>, not User: with a class type, type-graphql copies the root
 * into a new instance, which drops a mongoose document's getters (`_id`).
 */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import { ConnectionType, type Connection } from "../../common/connection.js";
import { Contact } from "../contact/contact.entity.js";
import { Media } from "../media/media.entity.js";
import type { UserSnapshot } from "../message/message.view.js";
import type { Context } from "../../context.js";
import { parseId } from "../../common/ids.js";
import { notFound } from "../../errors.js";
import { User, UserSettings } from "./user.entity.js";
import { loadUser } from "./load-user.js";
import { canSee } from "./visibility.js";

export const UserConnection = ConnectionType("User", () => User);

/** Roots are mongoose documents (queries) or public snapshots with string ids (live events). */
export type UserRoot = DocumentType<User> | UserSnapshot;

export function userIdOf(user: { _id: unknown }): string {
  return String(user._id);
}

@Resolver(() => User)
export class UserResolver {
  @Authorized()
  @Query(() => UserConnection, { description: "Prefix match on username and full name; inactive users and users who blocked the viewer are left out." })
  async searchUsers(
    @Arg("query") query: string,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<DocumentType<User>>> {
    const exclude = await ctx.services.contacts.blockedBy(ctx.viewer!.id);
    return ctx.services.users.search(query, exclude, { first, after });
  }

  @Authorized()
  @Query(() => User)
  async me(@Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, ctx.viewer!.id);
  }

  @Authorized()
  @Query(() => User, { nullable: true })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, parseId(id).toHexString());
  }

  @Authorized()
  @Query(() => User, { nullable: true })
  async userByUsername(@Arg("username") username: string, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    const user = await ctx.services.users.findByUsername(username);
    if (!user) throw notFound("User");
    return user;
  }

  @FieldResolver(() => ID)
  id(@Root() user: UserRoot): string {
    return userIdOf(user);
  }

  /** The full document of the viewer themself (a snapshot lacks private fields). */
  private async self(user: UserRoot, ctx: Context): Promise<DocumentType<User> | null> {
    const id = userIdOf(user);
    if (ctx.viewer?.id !== id) return null;
    return "email" in user && user.email ? (user as DocumentType<User>) : ctx.loaders.user.load(id);
  }

  @FieldResolver(() => String, { nullable: true, description: "Visible to the user themself only; null for others." })
  async email(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<string | null> {
    return (await this.self(user, ctx))?.email ?? null;
  }

  @FieldResolver(() => UserSettings, { nullable: true, description: "Visible to the user themself only." })
  async settings(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<UserSettings | null> {
    return (await this.self(user, ctx))?.settings ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "By the user's phoneNumberVisibility (default: their contacts); null for those who may not see it." })
  async phoneNumber(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<string | null> {
    if (!user.phone_number) return null;
    return (await canSee(ctx, user, "phone_number_visibility")) ? user.phone_number : null;
  }

  @FieldResolver(() => Date, { nullable: true, description: "By the user's lastSeenVisibility (default: their contacts); null for users who blocked the viewer." })
  async lastSeen(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<Date | string | null> {
    if (!(await canSee(ctx, user, "last_seen_visibility"))) return null;
    return user.last_seen ?? null;
  }

  @FieldResolver(() => Media, { nullable: true, description: "By the user's profilePictureVisibility (default: their contacts)." })
  async profilePicture(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<DocumentType<Media> | null> {
    if (!user.profile_picture || !(await canSee(ctx, user, "profile_picture_visibility"))) return null;
    return ctx.loaders.media.load(user.profile_picture);
  }

  @FieldResolver(() => Contact, { nullable: true, description: "The viewer's contact entry for this user, if any." })
  contact(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<DocumentType<Contact> | null> {
    return ctx.loaders.contactOf.load(userIdOf(user));
  }
}
