/** Hide for me and forward (issue 15); the rules are in their services. */
import { Arg, Args, Authorized, Ctx, ID, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ForwardMessageArgs } from "./message-forward.args.js";
import type { MessageView } from "./message.view.js";

@Resolver()
export class MessageActionsResolver {
  @Authorized()
  @Mutation(() => Boolean, { description: "Hides a message from the viewer's own history pages and search (others still see it). Members only; idempotent." })
  hideMessage(@Arg("messageId", () => ID) messageId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.messageHides.hide(viewerId, messageId);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Shows a message the viewer hid again. Members only; idempotent." })
  unhideMessage(@Arg("messageId", () => ID) messageId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.messageHides.unhide(viewerId, messageId);
  }

  @Authorized()
  @Mutation(() => ChatMessage, {
    description:
      "Sends a copy (content, type, attachment) of a message the viewer can read to a user or a group, marked forwarded. The rights and limits of sendMessage/sendGroupMessage apply; idempotent per clientMessageId.",
  })
  forwardMessage(@Args(() => ForwardMessageArgs) args: ForwardMessageArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messageForwards.forward(viewerId, args);
  }
}
