/** `node(id)`: any object the viewer may see, by its ObjectId. */
import { Arg, Authorized, Ctx, ID, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { parseId } from "../../common/ids.js";
import { AppError, ErrorCode, notFound } from "../../errors.js";
import { Node } from "./node.interface.js";

/** NOT_FOUND from a lookup means "not this type": try the next one. */
async function orNull<T>(lookup: () => Promise<T>): Promise<T | null> {
  try {
    return await lookup();
  } catch (err) {
    if (err instanceof AppError && err.extensions.code === ErrorCode.NOT_FOUND) return null;
    throw err;
  }
}

@Resolver()
export class NodeResolver {
  @Authorized()
  @Query(() => Node, { nullable: true })
  async node(@Arg("id", () => ID) id: string, @ViewerId() viewer: string, @Ctx() ctx: Context): Promise<object> {
    const oid = parseId(id);
    const found =
      (await ctx.loaders.user.load(oid.toHexString())) ??
      (await ctx.services.contacts.ownEntry(viewer, oid)) ??
      (await orNull(() => ctx.services.media.visibleMedia(viewer, id))) ??
      (await orNull(() => ctx.services.media.visibleFile(viewer, id))) ??
      (await orNull(() => ctx.services.calls.get(viewer, id)));
    if (!found) throw notFound("Node");
    return found;
  }
}
