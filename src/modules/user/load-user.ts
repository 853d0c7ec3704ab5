/** A user through the request's (or event's) loader; a missing one is NOT_FOUND. */
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import type { User } from "./user.entity.js";
import type { Entity } from "../../common/lean.js";

export async function loadUser(ctx: Context, id: string): Promise<Entity<User>> {
  const user = await ctx.loaders.user.load(id);
  if (!user) throw notFound("User");
  return user;
}
