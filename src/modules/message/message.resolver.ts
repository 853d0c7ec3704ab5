/**
 * Messages part of the contract: history, search, sending, editing, deleting, receipts and
 * typing. Field resolvers compute viewer-specific values from the message and the
 * conversation's watermarks (loaded once per request, or carried by the event).
 */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ForwardPage, Page, type ForwardPageArgs } from "../../common/page.args.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { pageArray, type Connection, type PageArgs } from "../../common/connection.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { UserConnection } from "../user/user.type.js";
import { Attachment, type FileItem, type Media } from "../media/media.entity.js";
import { Group } from "../group/group.entity.js";
// message.type before conversation.type: the order types are declared in is the order the
// printed schema lists them (schema/schema.graphql).
import { ChatMessageConnection, GroupMessage, Message, MessageReceiptConnection, MessageStatus, ReceiptStatus } from "./message.type.js";
import { ChatMessage } from "../conversation/chat-message.type.js";
import { ConversationType } from "../conversation/conversation.type.js";
import { type ConversationSnapshot, type MemberMarks, marksOf } from "../conversation/conversation.view.js";
import { SendGroupMessageInput, SendMessageInput } from "./message.input.js";
import { EditMessageArgs, MarkArgs, SearchMessagesArgs } from "./message.args.js";
import type { MessageView } from "./message.view.js";
import type { UserSnapshot } from "../user/user.view.js";
import { loadUser } from "../user/load-user.js";
import type { Entity } from "../../common/lean.js";

/**
 * Paging argument classes, made when this module loads: type-graphql builds the schema from a
 * copy of its metadata, so an @ArgsType class first made inside an `@Args` thunk is missing.
 */
const MessagesPage = Page();
const Page20 = ForwardPage(20);
const Page50 = ForwardPage(50);

// Not async: a history page resolves these 50 times each, and an async wrapper around the
// loader's own promise is one more promise and microtask per message for nothing.
function senderOf(view: MessageView, ctx: Context): UserSnapshot | Promise<Entity<User>> {
  return view.sender ?? loadUser(ctx, view.senderId);
}

function attachmentOf(view: MessageView, ctx: Context): Promise<Entity<Media> | Entity<FileItem> | null> | null {
  if (!view.attachment || view.isDeleted) return null;
  return view.attachment.kind === "media" ? ctx.loaders.media.load(view.attachment.id) : ctx.loaders.file.load(view.attachment.id);
}

async function conversationOf(view: MessageView, ctx: Context): Promise<ConversationSnapshot> {
  const conv = await ctx.loaders.conversation.load(view.conversationId);
  if (!conv) throw notFound("Conversation");
  return conv;
}

/** A member's read mark as the viewer may see it: their own real one, others' shared one. */
function visibleRead(m: MemberMarks, viewerId: string | undefined): number {
  return m.userId === viewerId ? m.readSeq : m.sharedReadSeq;
}

@Resolver(() => Message)
export class MessageResolver {
  @Authorized()
  @Query(() => ChatMessageConnection, { description: "Messages of one conversation in seq order. `last: 50` gives the newest 50; page back with `before`." })
  messages(
    @Arg("conversationId", () => ID) conversationId: string,
    @Args(() => MessagesPage) page: PageArgs,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<Connection<MessageView>> {
    return ctx.services.messages.history(viewerId, conversationId, page);
  }

  @Authorized()
  @Query(() => ChatMessageConnection, { description: "Full-text search over the messages the viewer can read, newest first. Deleted messages never match." })
  searchMessages(
    @Args(() => SearchMessagesArgs) { query, conversationId }: SearchMessagesArgs,
    @Args(() => Page20) page: ForwardPageArgs,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<Connection<MessageView>> {
    return ctx.services.messages.search(viewerId, query, conversationId, page);
  }

  @Authorized()
  @Mutation(() => Message, {
    description: "Idempotent per (sender, clientMessageId): a retry returns the first message, stores nothing new, publishes nothing new.",
  })
  sendMessage(@Arg("input", () => SendMessageInput) input: SendMessageInput, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.sendDirect(viewerId, input);
  }

  @Authorized()
  @Mutation(() => GroupMessage)
  sendGroupMessage(
    @Arg("input", () => SendGroupMessageInput) input: SendGroupMessageInput,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<MessageView> {
    return ctx.services.messages.sendGroup(viewerId, input);
  }

  @Authorized()
  @Mutation(() => ChatMessage, {
    description:
      "Sender only; not once deleted; within MESSAGE_EDIT_WINDOW_SECONDS of sending when the server sets it. The replaced content goes to editHistory.",
  })
  editMessage(@Args(() => EditMessageArgs) { id, content }: EditMessageArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messageEdits.edit(viewerId, id, content);
  }

  @Authorized()
  @Mutation(() => ChatMessage, { description: "Soft delete (is_deleted true, content cleared). Sender only; in groups admins too." })
  deleteMessage(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.remove(viewerId, id);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Advances the viewer's delivered watermark; never moves it back." })
  markDelivered(@Args(() => MarkArgs) { conversationId, upToSeq }: MarkArgs, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.conversations.markDelivered(viewerId, conversationId, upToSeq);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Advances the viewer's read (and delivered) watermark; never moves it back." })
  async markRead(
    @Args(() => MarkArgs) { conversationId, upToSeq }: MarkArgs,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<ConversationSnapshot> {
    return ctx.services.conversations.markRead(viewerId, conversationId, upToSeq, { shared: await this.sharesReceipts(viewerId, ctx) });
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Ephemeral: nothing stored. Ignored when the viewer disabled typing indicators." })
  async setTyping(
    @Arg("conversationId", () => ID) conversationId: string,
    @Arg("isTyping") isTyping: boolean,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const me = await ctx.loaders.user.load(viewerId);
    const conv = await ctx.services.conversations.requireMemberLight(viewerId, conversationId);
    if (me?.settings?.typing_indicators_enabled === false) return true;
    // Towards someone who blocked the viewer (or whom they blocked): refused, nothing published.
    await ctx.services.conversations.assertNotBlocked(viewerId, conv);
    await ctx.services.messages.publishTyping(viewerId, conversationId, isTyping);
    return true;
  }

  /** Whether the viewer's read mark is shown to others (their read-receipts setting). */
  private async sharesReceipts(viewerId: string, ctx: Context): Promise<boolean> {
    const me = await ctx.loaders.user.load(viewerId);
    return me?.settings?.read_receipts_enabled !== false;
  }

  @FieldResolver(() => User)
  sender(@Root() view: MessageView, @Ctx() ctx: Context): UserSnapshot | Promise<Entity<User>> {
    return senderOf(view, ctx);
  }

  @FieldResolver(() => User)
  async recipient(@Root() view: MessageView, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, view.recipientId!);
  }

  @FieldResolver(() => Attachment, { nullable: true })
  attachment(@Root() view: MessageView, @Ctx() ctx: Context): Promise<Entity<Media> | Entity<FileItem> | null> | null {
    return attachmentOf(view, ctx);
  }

  @FieldResolver(() => MessageStatus, { description: "READ is only shown to the sender when the recipient has read receipts enabled." })
  async status(@Root() view: MessageView, @Ctx() ctx: Context): Promise<MessageStatus> {
    const marks = marksOf(await conversationOf(view, ctx), view.recipientId!);
    if (!marks) return MessageStatus.SENT;
    if (view.seq <= visibleRead(marks, ctx.viewer?.id)) return MessageStatus.READ;
    if (view.seq <= marks.deliveredSeq) return MessageStatus.DELIVERED;
    return MessageStatus.SENT;
  }
}

@Resolver(() => GroupMessage)
export class GroupMessageResolver {
  @FieldResolver(() => User)
  sender(@Root() view: MessageView, @Ctx() ctx: Context): UserSnapshot | Promise<Entity<User>> {
    return senderOf(view, ctx);
  }

  @FieldResolver(() => Attachment, { nullable: true })
  attachment(@Root() view: MessageView, @Ctx() ctx: Context): Promise<Entity<Media> | Entity<FileItem> | null> | null {
    return attachmentOf(view, ctx);
  }

  @FieldResolver(() => Group)
  async group(@Root() view: MessageView, @Ctx() ctx: Context): Promise<DocumentType<Group>> {
    const group = await ctx.loaders.group.load(view.groupId!);
    if (!group) throw notFound("Group");
    return group;
  }

  /** Members other than the sender, in join order. */
  private async others(view: MessageView, ctx: Context): Promise<MemberMarks[]> {
    return (await conversationOf(view, ctx)).members.filter((m) => m.userId !== view.senderId);
  }

  @FieldResolver(() => Int)
  async readCount(@Root() view: MessageView, @Ctx() ctx: Context): Promise<number> {
    return (await this.others(view, ctx)).filter((m) => visibleRead(m, ctx.viewer?.id) >= view.seq).length;
  }

  @FieldResolver(() => Int)
  async deliveredCount(@Root() view: MessageView, @Ctx() ctx: Context): Promise<number> {
    return (await this.others(view, ctx)).filter((m) => m.deliveredSeq >= view.seq).length;
  }

  @FieldResolver(() => UserConnection, { description: "Members (other than the sender) who read it and have read receipts enabled." })
  @ViewerSpecific()
  async readBy(@Root() view: MessageView, @Args(() => Page50) args: ForwardPageArgs, @Ctx() ctx: Context): Promise<Connection<Entity<User> | null>> {
    const readers = (await this.others(view, ctx)).filter((m) => m.sharedReadSeq >= view.seq);
    const page = pageArray(readers, args, 50);
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node.userId));
    return {
      ...page,
      edges: page.edges.map((e, i) => ({ cursor: e.cursor, node: users[i] instanceof Error ? null : (users[i] as Entity<User> | null) })).filter((e) => e.node),
    };
  }

  @FieldResolver(() => MessageReceiptConnection, { description: "Delivery and read status of each member other than the sender." })
  @ViewerSpecific()
  async receipts(
    @Root() view: MessageView,
    @Args(() => Page50) args: ForwardPageArgs,
    @Ctx() ctx: Context,
  ): Promise<Connection<{ user: Entity<User> | null; status: ReceiptStatus; at: null }>> {
    const page = pageArray(await this.others(view, ctx), args, 50);
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node.userId));
    return {
      ...page,
      edges: page.edges.map((e, i) => ({
        cursor: e.cursor,
        node: {
          user: users[i] instanceof Error ? null : (users[i] as Entity<User> | null),
          status:
            visibleRead(e.node, ctx.viewer?.id) >= view.seq
              ? ReceiptStatus.READ
              : e.node.deliveredSeq >= view.seq
                ? ReceiptStatus.DELIVERED
                : ReceiptStatus.PENDING,
          at: null,
        },
      })),
    };
  }
}
