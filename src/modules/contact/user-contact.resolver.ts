/** `User.contact`: a field of User that needs the contact feature, so it is resolved here, not in user/. */
import type { DocumentType } from "@typegoose/typegoose";
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { User } from "../user/user.entity.js";
import { type UserRoot, userIdOf } from "../user/user.view.js";
import { Contact } from "./contact.entity.js";

@Resolver(() => User)
export class UserContactResolver {
  @ViewerSpecific()
  @FieldResolver(() => Contact, { nullable: true, description: "The viewer's contact entry for this user, if any." })
  contact(@Root() user: UserRoot, @Ctx() ctx: Context): Promise<DocumentType<Contact> | null> {
    return ctx.loaders.contactOf.load(userIdOf(user));
  }
}
