/**
 * Pinned messages of a conversation (`pinMessage` / `unpinMessage`): stored in the conversation
 * document (`pinned_messages`), so `Conversation.pinnedMessages` needs no query of its own and
 * the `conversation.updated` event's snapshot carries the new list to every member (the
 * messages are then loaded once per event, by the event's shared loaders, never per subscriber).
 *
 * Rights: the message must be readable (a member of its conversation; NOT_FOUND otherwise, as
 * for unknown ids); in direct conversations either member, unless one blocked the other
 * (BLOCKED, as for sending); in groups admins only (FORBIDDEN), and not in a deactivated group.
 */
import { REV_STEP } from "../conversation/revisions.js";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { parseId } from "../../common/ids.js";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "../../errors.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ConversationTopics } from "../conversation/conversation.events.js";
import type { ConversationService } from "../conversation/conversation.service.js";
import type { Conversation } from "../conversation/conversation.entity.js";
import { type ConversationSnapshot, snapshotOf } from "../conversation/conversation.view.js";

/** Most pinned messages per conversation: past it BAD_USER_INPUT (unpin one first). */
export const MAX_PINNED_MESSAGES = 50;

export class MessagePinService {
  constructor(
    private readonly models: Models,
    private readonly conversations: ConversationService,
    private readonly pubSub: AppPubSub<ConversationTopics>,
    private readonly guard: Pick<AbuseGuard, "memberAction">,
  ) {}

  /** Pins a message (pinning it again changes nothing). Deleted messages cannot be pinned. */
  async pin(viewerId: string, messageId: string): Promise<ConversationSnapshot> {
    const { message, conversationId } = await this.mayPin(viewerId, messageId);
    await this.guard.memberAction(viewerId);
    if (message.is_deleted) throw forbidden("A deleted message cannot be pinned");
    // The cap and the "not pinned yet" test are part of the filter: one atomic write, no count.
    const updated = await this.models.Conversation.findOneAndUpdate(
      {
        _id: conversationId,
        "pinned_messages.message_id": mongoose.trusted({ $ne: message._id }),
        [`pinned_messages.${MAX_PINNED_MESSAGES - 1}`]: mongoose.trusted({ $exists: false }),
      },
      { $push: { pinned_messages: { message_id: message._id, pinned_by: new Types.ObjectId(viewerId), pinned_at: new Date() } }, $inc: REV_STEP },
      { returnDocument: "after", timestamps: false },
    );
    if (updated) return this.published(updated);
    const current = await this.models.Conversation.findById(conversationId);
    if (!current) throw notFound("Message");
    if (current.pinned_messages?.some((p) => p.message_id.equals(message._id))) return snapshotOf(current);
    throw badInput([{ field: "messageId", message: `at most ${MAX_PINNED_MESSAGES} messages can be pinned in a conversation; unpin one first` }]);
  }

  /** Unpins a message (also a deleted one); unpinning one that is not pinned changes nothing. */
  async unpin(viewerId: string, messageId: string): Promise<ConversationSnapshot> {
    const { message, conversationId } = await this.mayPin(viewerId, messageId);
    await this.guard.memberAction(viewerId);
    const updated = await this.models.Conversation.findOneAndUpdate(
      { _id: conversationId, "pinned_messages.message_id": message._id },
      { $pull: { pinned_messages: { message_id: message._id } }, $inc: REV_STEP },
      { returnDocument: "after", timestamps: false },
    );
    if (updated) return this.published(updated);
    const current = await this.models.Conversation.findById(conversationId);
    if (!current) throw notFound("Message");
    return snapshotOf(current);
  }

  /** The message and its conversation when the viewer may pin in it (see the file comment). */
  private async mayPin(
    viewerId: string,
    messageId: string,
  ): Promise<{ message: { _id: Types.ObjectId; is_deleted: boolean }; conversationId: Types.ObjectId }> {
    const id = parseId(messageId, "messageId");
    const projection = { conversation_id: 1, is_deleted: 1 };
    const message = (await this.models.DirectMessage.findById(id, projection).lean()) ?? (await this.models.GroupMessage.findById(id, projection).lean());
    if (!message) throw notFound("Message");
    // Outsiders learn nothing: the same NOT_FOUND as for an unknown message.
    const conv = await this.conversations.requireMemberLight(viewerId, message.conversation_id.toHexString()).catch((e: unknown) => {
      throw e instanceof AppError && e.extensions.code === ErrorCode.NOT_FOUND ? notFound("Message") : e;
    });
    if (conv.kind === "group") {
      // Admin check by query, not by loading the member list.
      const group = await this.models.Group.findById(conv._id, { is_active: 1, admins: 1 }).lean();
      if (!group) throw notFound("Message");
      if (!group.is_active) throw forbidden("This group is deactivated");
      if (!group.admins.some((a) => a.equals(viewerId))) throw forbidden("Only group admins can pin messages");
    } else {
      await this.conversations.assertNotBlocked(viewerId, conv);
    }
    return { message: { _id: message._id, is_deleted: message.is_deleted }, conversationId: conv._id };
  }

  /** The new pin list reaches every member on the conversation topic. */
  private published(conv: Conversation): ConversationSnapshot {
    const snapshot = snapshotOf(conv);
    this.pubSub.publish("CONVERSATION", snapshot.id, { type: "conversation.updated", conversation: snapshot });
    return snapshot;
  }
}

declare module "../../context.js" {
  interface Services {
    messagePins: MessagePinService;
  }
}
