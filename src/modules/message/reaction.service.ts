/**
 * Reactions (issue 15): `addReaction` / `removeReaction`, stored on the message itself
 * (`reactions: [{ emoji, user_ids, count }]`), so `Message.reactions` needs no query of its own
 * and the `message.updated` event carries them to every member (viewerReacted is computed per
 * subscriber from the carried ids, without a read).
 *
 * Every change is a conditional update on the message, never a read-modify-write: the rules
 * are in the filter and the count moves in the same update as the user id. Each is stamped
 * with the conversation's next rev in the same transaction (conversation/revisions.ts).
 *  - add to an existing emoji: `$elemMatch {emoji, user_ids $ne me}` + `$push` id / `$inc` count
 *    (on the entry `$[r]` with that emoji: emoji are unique in the list);
 *  - add a new emoji: `reactions.emoji $ne emoji` and `reactions.<cap-1>` absent (the cap);
 *  - remove: `$elemMatch {emoji, user_ids: me}` + `$pull` id / `$inc -1`, then an entry that
 *    reached 0 is pulled by a filter on `count <= 0` (a concurrent add keeps it alive).
 * Adding twice matches neither add filter: a no-op, not a double count. When no filter matched,
 * one read tells which rule refused (already there, cap, deleted) or that a concurrent change
 * moved the message between the two add filters (then the adds are tried again).
 *
 * Rights as for reading and sending: members of the message's conversation only (NOT_FOUND
 * otherwise, as for unknown ids, so removed members are refused too); BLOCKED in a direct
 * conversation where one blocked the other; FORBIDDEN in a deactivated group. Rate limited
 * per user (REACTION_RATE_LIMIT).
 */
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { parseId } from "../../common/ids.js";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "../../errors.js";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { ConversationService } from "../conversation/conversation.service.js";
import type { ConversationRevisions } from "../conversation/revisions.js";
import type { AnyMessage, MessageService } from "./message.service.js";
import type { MessageView } from "./message.view.js";

/** Most distinct emoji on one message. */
export const MAX_DISTINCT_REACTIONS = 20;

/** Rounds of the two add filters when concurrent changes keep moving the message between them. */
const ADD_ATTEMPTS = 5;

export class ReactionService {
  constructor(
    private readonly models: Models,
    private readonly messages: MessageService,
    private readonly conversations: ConversationService,
    private readonly guard: AbuseGuard,
    private readonly revisions: ConversationRevisions,
  ) {}

  async add(viewerId: string, messageId: string, emoji: string): Promise<MessageView> {
    const { model, id, conversationId } = await this.mayReact(viewerId, messageId);
    await this.guard.reaction(viewerId);
    const me = new Types.ObjectId(viewerId);
    for (let attempt = 1; ; attempt++) {
      const joined = await this.revisions.updateMessage(
        model,
        conversationId,
        { _id: id, is_deleted: false, reactions: mongoose.trusted({ $elemMatch: { emoji, user_ids: { $ne: me } } }) },
        { $push: { "reactions.$[r].user_ids": me }, $inc: { "reactions.$[r].count": 1 } },
        { returnDocument: "after", arrayFilters: [{ "r.emoji": emoji }] },
      );
      if (joined) return this.messages.publishUpdate(joined);
      const created = await this.revisions.updateMessage(
        model,
        conversationId,
        {
          _id: id,
          is_deleted: false,
          "reactions.emoji": mongoose.trusted({ $ne: emoji }),
          [`reactions.${MAX_DISTINCT_REACTIONS - 1}`]: mongoose.trusted({ $exists: false }),
        },
        { $push: { reactions: { emoji, user_ids: [me], count: 1 } } },
        { returnDocument: "after" },
      );
      if (created) return this.messages.publishUpdate(created);
      // Neither matched: find out which rule refused.
      const current = await model.findById(id);
      if (!current) throw notFound("Message");
      if (current.is_deleted) throw forbidden("A deleted message cannot be reacted to");
      const entry = current.reactions?.find((r) => r.emoji === emoji);
      if (entry?.user_ids.some((u) => u.equals(me))) return this.messages.viewWithSender(current);
      if (!entry && (current.reactions?.length ?? 0) >= MAX_DISTINCT_REACTIONS)
        throw badInput([{ field: "emoji", message: `a message has at most ${MAX_DISTINCT_REACTIONS} different emoji` }]);
      if (attempt >= ADD_ATTEMPTS) throw new AppError(ErrorCode.CONFLICT, "The message's reactions changed meanwhile; try again");
    }
  }

  async remove(viewerId: string, messageId: string, emoji: string): Promise<MessageView> {
    const { model, id, conversationId } = await this.mayReact(viewerId, messageId);
    await this.guard.reaction(viewerId);
    const me = new Types.ObjectId(viewerId);
    const left = await this.revisions.updateMessage(
      model,
      conversationId,
      { _id: id, reactions: mongoose.trusted({ $elemMatch: { emoji, user_ids: me } }) },
      { $pull: { "reactions.$[r].user_ids": me }, $inc: { "reactions.$[r].count": -1 } },
      { returnDocument: "after", arrayFilters: [{ "r.emoji": emoji }] },
    );
    if (!left) {
      // Not reacted with this emoji: nothing changes, nothing is published.
      const current = await model.findById(id);
      if (!current) throw notFound("Message");
      return this.messages.viewWithSender(current);
    }
    // The last user of an emoji frees its slot; an add that raced in meanwhile keeps it (count > 0).
    const emptied = left.reactions?.some((r) => r.emoji === emoji && r.count <= 0)
      ? await this.revisions.updateMessage(
          model,
          conversationId,
          { _id: id, reactions: mongoose.trusted({ $elemMatch: { emoji, count: { $lte: 0 } } }) },
          { $pull: { reactions: { emoji, count: mongoose.trusted({ $lte: 0 }) } } },
          { returnDocument: "after" },
        )
      : null;
    return this.messages.publishUpdate(emptied ?? left);
  }

  /** The message's collection and id when the viewer may react to it (see the file comment). */
  private async mayReact(
    viewerId: string,
    messageId: string,
  ): Promise<{ model: mongoose.Model<AnyMessage>; id: Types.ObjectId; conversationId: Types.ObjectId }> {
    const id = parseId(messageId, "messageId");
    const projection = { conversation_id: 1, group_id: 1 };
    const direct = await this.models.DirectMessage.findById(id, projection).lean();
    const message = direct ?? (await this.models.GroupMessage.findById(id, projection).lean());
    if (!message) throw notFound("Message");
    // Outsiders (and removed members) learn nothing: the same NOT_FOUND as for an unknown message.
    const conv = await this.conversations.requireMemberLight(viewerId, message.conversation_id.toHexString()).catch((e: unknown) => {
      throw e instanceof AppError && e.extensions.code === ErrorCode.NOT_FOUND ? notFound("Message") : e;
    });
    if (conv.kind === "group") {
      const group = await this.models.Group.findById(conv._id, { is_active: 1 }).lean();
      if (!group) throw notFound("Message");
      if (!group.is_active) throw forbidden("This group is deactivated");
    } else {
      await this.conversations.assertNotBlocked(viewerId, conv);
    }
    const model = (direct ? this.models.DirectMessage : this.models.GroupMessage) as unknown as mongoose.Model<AnyMessage>;
    return { model, id, conversationId: message.conversation_id };
  }
}

declare module "../../context.js" {
  interface Services {
    reactions: ReactionService;
  }
}
