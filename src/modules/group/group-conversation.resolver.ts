/**
 * `GroupConversation.group`: declared here rather than on the type in conversation/, which
 * sits below the group feature and must not import it.
 */
import type { DocumentType } from "@typegoose/typegoose";
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import { GroupConversation } from "../conversation/conversation.type.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import { Group } from "./group.entity.js";

@Resolver(() => GroupConversation)
export class GroupConversationResolver {
  @FieldResolver(() => Group)
  async group(@Root() conv: ConversationSnapshot, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    const group = await ctx.loaders.group.load(conv.id);
    if (!group) throw notFound("Group");
    return group;
  }
}
