/** `User.profilePicture`: a field of User that needs the media feature, so it is resolved here, not in user/. */
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { User } from "../user/user.entity.js";
import type { UserRoot } from "../user/user.view.js";
import { canSee } from "../user/visibility.js";
import { Media } from "./media.entity.js";
import type { Entity } from "../../common/lean.js";

@Resolver(() => User)
export class UserProfilePictureResolver {
  @ViewerSpecific()
  @FieldResolver(() => Media, { nullable: true, description: "By the user's profilePictureVisibility (default: their contacts)." })
  async profilePicture(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<Entity<Media> | null> {
    if (!user.profile_picture || !(await canSee(ctx, user, "profile_picture_visibility"))) return null;
    return ctx.loaders.media.load(user.profile_picture);
  }
}
