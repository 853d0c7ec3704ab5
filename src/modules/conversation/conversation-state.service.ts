/**
 * Each member's own state of a conversation: muted until a time, archived, pinned to the top of
 * their list, marked unread. It lives in the member's entry of the conversation document (beside
 * the read/delivered watermarks), so the list and every event snapshot carry it without another
 * read. Each change is one conditional update (membership is part of the filter) and goes to the
 * member's own sessions only (their USER topic): nobody else learns of it.
 */
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { parseId } from "../../common/ids.js";
import { badInput, notFound } from "../../errors.js";
import type { AppPubSub } from "../../pubsub.js";
import type { UserTopics } from "../user/user.events.js";
import type { Conversation, ConversationMember } from "./conversation.entity.js";
import { type ConversationSnapshot, snapshotOf } from "./conversation.view.js";
import { REV_STEP } from "./revisions.js";
import type {} from "./conversation.events.js";

/** Most conversations one user may pin (WhatsApp's 3, Telegram's 5): past it BAD_USER_INPUT. */
export const MAX_PINNED_CONVERSATIONS = 5;

type MemberState = Partial<Pick<ConversationMember, "muted_until" | "archived" | "pinned_at" | "marked_unread">>;

export class ConversationStateService {
  constructor(
    private readonly models: Models,
    private readonly pubSub: AppPubSub<UserTopics>,
    private readonly guard: Pick<AbuseGuard, "memberAction">,
  ) {}

  /** Muted until `until` (in the future: the args check it); null unmutes. */
  mute(viewerId: string, conversationId: string, until: Date | null): Promise<ConversationSnapshot> {
    return this.setMine(viewerId, conversationId, { muted_until: until });
  }

  /** Archiving also unpins: an archived conversation is not in the list it was pinned to. */
  archive(viewerId: string, conversationId: string): Promise<ConversationSnapshot> {
    return this.setMine(viewerId, conversationId, { archived: true, pinned_at: null });
  }

  unarchive(viewerId: string, conversationId: string): Promise<ConversationSnapshot> {
    return this.setMine(viewerId, conversationId, { archived: false });
  }

  /** Cleared by the member's next markRead (ConversationService.markRead). */
  markUnread(viewerId: string, conversationId: string): Promise<ConversationSnapshot> {
    return this.setMine(viewerId, conversationId, { marked_unread: true });
  }

  unpin(viewerId: string, conversationId: string): Promise<ConversationSnapshot> {
    return this.setMine(viewerId, conversationId, { pinned_at: null });
  }

  /**
   * Pins to the top of the viewer's list (and unarchives). The cap is checked after the write,
   * by rank: the viewer's pins in pin order, and a pin ranked past MAX_PINNED_CONVERSATIONS is
   * taken back and refused. Two pins racing for the last place cannot both keep it (a count
   * before the write could not see the other), and the earlier pin wins.
   */
  async pin(viewerId: string, conversationId: string): Promise<ConversationSnapshot> {
    const id = parseId(conversationId, "conversationId");
    await this.guard.memberAction(viewerId);
    const viewer = new Types.ObjectId(viewerId);
    const pinnedAt = new Date();
    const updated = await this.models.Conversation.findOneAndUpdate(
      // Only when not pinned yet: pinning again keeps the first pin time (and its rank).
      { _id: id, members: mongoose.trusted({ $elemMatch: { user_id: viewer, pinned_at: null } }) },
      { $set: { "members.$[me].pinned_at": pinnedAt, "members.$[me].archived": false }, $inc: REV_STEP },
      { arrayFilters: [{ "me.user_id": viewer }], returnDocument: "after", timestamps: false },
    );
    if (!updated) {
      const current = await this.models.Conversation.findOne({ _id: id, "members.user_id": viewer });
      if (!current) throw notFound("Conversation");
      return snapshotOf(current);
    }
    if ((await this.pinRank(viewer, id)) >= MAX_PINNED_CONVERSATIONS) {
      await this.models.Conversation.updateOne(
        { _id: id },
        { $set: { "members.$[me].pinned_at": null }, $inc: REV_STEP },
        { arrayFilters: [{ "me.user_id": viewer, "me.pinned_at": pinnedAt }], timestamps: false },
      );
      throw badInput([{ field: "conversationId", message: `at most ${MAX_PINNED_CONVERSATIONS} conversations can be pinned; unpin one first` }]);
    }
    return this.published(viewerId, updated);
  }

  /** The place of conversation `id` among the viewer's pins, oldest pin first (0-based). */
  private async pinRank(viewer: Types.ObjectId, id: Types.ObjectId): Promise<number> {
    const pins = await this.models.Conversation.find(
      { "members.user_id": viewer, members: mongoose.trusted({ $elemMatch: { user_id: viewer, pinned_at: mongoose.trusted({ $ne: null }) } }) },
      { members: mongoose.trusted({ $elemMatch: { user_id: viewer } }) },
    ).lean();
    const at = (c: (typeof pins)[number]) => new Date(c.members[0]?.pinned_at ?? 0).getTime();
    pins.sort((a, b) => at(a) - at(b) || (a._id.toHexString() < b._id.toHexString() ? -1 : 1));
    const rank = pins.findIndex((c) => c._id.equals(id));
    return rank < 0 ? pins.length : rank;
  }

  /** One update of the viewer's own entry; membership is part of the filter (NOT_FOUND as for outsiders). */
  private async setMine(viewerId: string, conversationId: string, state: MemberState): Promise<ConversationSnapshot> {
    const id = parseId(conversationId, "conversationId");
    await this.guard.memberAction(viewerId);
    const viewer = new Types.ObjectId(viewerId);
    const $set = Object.fromEntries(Object.entries(state).map(([k, v]) => [`members.$[me].${k}`, v]));
    const updated = await this.models.Conversation.findOneAndUpdate(
      { _id: id, "members.user_id": viewer },
      // rev: the viewer's other devices catch up on it with changes(since) (revisions.ts).
      { $set, $inc: REV_STEP },
      // Personal state is not activity: the list order (updated_at) stays.
      { arrayFilters: [{ "me.user_id": viewer }], returnDocument: "after", timestamps: false },
    );
    if (!updated) throw notFound("Conversation");
    return this.published(viewerId, updated);
  }

  /** To the member's own sessions only (conversationUpdated picks it up from the USER topic). */
  private published(viewerId: string, conv: Conversation): ConversationSnapshot {
    const snapshot = snapshotOf(conv);
    this.pubSub.publish("USER", viewerId, { type: "membership", conversationId: snapshot.id, member: true, conversation: snapshot });
    return snapshot;
  }
}

declare module "../../context.js" {
  interface Services {
    conversationState: ConversationStateService;
  }
}
