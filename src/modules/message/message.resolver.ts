/**
 * Messages part of the contract: history, search, sending, editing, deleting, receipts and
 * typing. Field resolvers compute viewer-specific values from the message and the
 * conversation's watermarks (loaded once per request, or carried by the event).
 */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { pageArray, type Connection } from "../../common/connection.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { UserConnection } from "../user/user.type.js";
import { Attachment, type FileItem, type Media } from "../media/media.entity.js";
import { Group } from "../group/group.entity.js";
import { ConversationType } from "../conversation/conversation.types.js";
import { type ConversationSnapshot, type MemberMarks, marksOf } from "../conversation/conversation.view.js";
import { ChatMessage, ChatMessageConnection, GroupMessage, Message, MessageReceiptConnection, MessageStatus, ReceiptStatus } from "./message.types.js";
import { SendGroupMessageInput, SendMessageInput } from "./message.inputs.js";
import type { MessageView } from "./message.view.js";
import type { UserSnapshot } from "../user/user.view.js";
import { loadUser } from "../user/load-user.js";

async function senderOf(view: MessageView, ctx: Context): Promise<UserSnapshot | DocumentType<User>> {
  if (view.sender) return view.sender;
  return loadUser(ctx, view.senderId);
}

async function attachmentOf(view: MessageView, ctx: Context): Promise<DocumentType<Media> | DocumentType<FileItem> | null> {
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
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("last", () => Int, { nullable: true }) last: number | null,
    @Arg("before", () => String, { nullable: true }) before: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<MessageView>> {
    return ctx.services.messages.history(ctx.viewer!.id, conversationId, { first, after, last, before });
  }

  @Authorized()
  @Query(() => ChatMessageConnection, { description: "Full-text search over the messages the viewer can read, newest first. Deleted messages never match." })
  searchMessages(
    @Arg("query") query: string,
    @Arg("conversationId", () => ID, { nullable: true }) conversationId: string | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<MessageView>> {
    return ctx.services.messages.search(ctx.viewer!.id, query, conversationId, { first, after });
  }

  @Authorized()
  @Mutation(() => Message, { description: "Idempotent per (sender, clientMessageId): a retry returns the first message, stores nothing new, publishes nothing new." })
  sendMessage(@Arg("input", () => SendMessageInput) input: SendMessageInput, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.sendDirect(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => GroupMessage)
  sendGroupMessage(@Arg("input", () => SendGroupMessageInput) input: SendGroupMessageInput, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.sendGroup(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => ChatMessage, { description: "Sender only; not once deleted." })
  editMessage(@Arg("id", () => ID) id: string, @Arg("content") content: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.edit(ctx.viewer!.id, id, content);
  }

  @Authorized()
  @Mutation(() => ChatMessage, { description: "Soft delete (is_deleted true, content cleared). Sender only; in groups admins too." })
  deleteMessage(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.messages.remove(ctx.viewer!.id, id);
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Advances the viewer's delivered watermark; never moves it back." })
  async markDelivered(@Arg("conversationId", () => ID) conversationId: string, @Arg("upToSeq", () => Int) upToSeq: number, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.conversations.mark(ctx.viewer!.id, conversationId, upToSeq, false, await this.sharesReceipts(ctx));
  }

  @Authorized()
  @Mutation(() => ConversationType, { description: "Advances the viewer's read (and delivered) watermark; never moves it back." })
  async markRead(@Arg("conversationId", () => ID) conversationId: string, @Arg("upToSeq", () => Int) upToSeq: number, @Ctx() ctx: Context): Promise<ConversationSnapshot> {
    return ctx.services.conversations.mark(ctx.viewer!.id, conversationId, upToSeq, true, await this.sharesReceipts(ctx));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Ephemeral: nothing stored. Ignored when the viewer disabled typing indicators." })
  async setTyping(@Arg("conversationId", () => ID) conversationId: string, @Arg("isTyping") isTyping: boolean, @Ctx() ctx: Context): Promise<boolean> {
    const me = await ctx.loaders.user.load(ctx.viewer!.id);
    const conv = await ctx.services.conversations.requireMemberLight(ctx.viewer!.id, conversationId);
    if (me?.settings?.typing_indicators_enabled === false) return true;
    // Towards someone who blocked the viewer (or whom they blocked): refused, nothing published.
    await ctx.services.conversations.assertNotBlocked(ctx.viewer!.id, conv);
    await ctx.services.messages.publishTyping(ctx.viewer!.id, conversationId, isTyping);
    return true;
  }

  private async sharesReceipts(ctx: Context): Promise<boolean> {
    const me = await ctx.loaders.user.load(ctx.viewer!.id);
    return me?.settings?.read_receipts_enabled !== false;
  }

  @FieldResolver(() => User)
  sender(@Root() view: MessageView, @Ctx() ctx: Context): Promise<UserSnapshot | DocumentType<User>> {
    return senderOf(view, ctx);
  }

  @FieldResolver(() => User)
  async recipient(@Root() view: MessageView, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, view.recipientId!);
  }

  @FieldResolver(() => Attachment, { nullable: true })
  attachment(@Root() view: MessageView, @Ctx() ctx: Context): Promise<DocumentType<Media> | DocumentType<FileItem> | null> {
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
  sender(@Root() view: MessageView, @Ctx() ctx: Context): Promise<UserSnapshot | DocumentType<User>> {
    return senderOf(view, ctx);
  }

  @FieldResolver(() => Attachment, { nullable: true })
  attachment(@Root() view: MessageView, @Ctx() ctx: Context): Promise<DocumentType<Media> | DocumentType<FileItem> | null> {
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
  async readBy(
    @Root() view: MessageView,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<DocumentType<User> | null>> {
    const readers = (await this.others(view, ctx)).filter((m) => m.sharedReadSeq >= view.seq);
    const page = pageArray(readers, { first, after }, 50);
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node.userId));
    return { ...page, edges: page.edges.map((e, i) => ({ cursor: e.cursor, node: users[i] instanceof Error ? null : (users[i] as DocumentType<User> | null) })).filter((e) => e.node) };
  }

  @FieldResolver(() => MessageReceiptConnection, { description: "Delivery and read status of each member other than the sender." })
  async receipts(
    @Root() view: MessageView,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<Connection<{ user: DocumentType<User> | null; status: ReceiptStatus; at: null }>> {
    const page = pageArray(await this.others(view, ctx), { first, after }, 50);
    const users = await ctx.loaders.user.loadMany(page.edges.map((e) => e.node.userId));
    return {
      ...page,
      edges: page.edges.map((e, i) => ({
        cursor: e.cursor,
        node: {
          user: users[i] instanceof Error ? null : (users[i] as DocumentType<User> | null),
          status: visibleRead(e.node, ctx.viewer?.id) >= view.seq ? ReceiptStatus.READ : e.node.deliveredSeq >= view.seq ? ReceiptStatus.DELIVERED : ReceiptStatus.PENDING,
          at: null,
        },
      })),
    };
  }
}
