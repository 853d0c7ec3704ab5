/** A user through the request's (or event's) loader; a missing one is NOT_FOUND. */
import type { DocumentType } from "@typegoose/typegoose";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import type { User } from "./user.entity.js";

export async function loadUser(ctx: Context, id: string): Promise<DocumentType<User>> {
  const user = await ctx.loaders.user.load(id);
  if (!user) throw notFound("User");
  return user;
}
