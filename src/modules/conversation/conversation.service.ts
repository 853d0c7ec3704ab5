/**
 * Conversations: finding or creating them, membership checks, the viewer's list, and the
 * delivered/read watermarks (which only move forward). Message statuses (`status`,
 * `read_by`) are kept current from the watermarks so stored documents stay true to the seed.
 */
import type DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { AppError, ErrorCode, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { paginatePipeline, type Connection, type PageArgs } from "../../common/connection.js";
import { driverCollection, findEntities, type Entity } from "../../common/lean.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ConversationTopics } from "./conversation.events.js";
import type { UserTopics } from "../user/user.events.js";
import { type Conversation, directKey } from "./conversation.entity.js";
import { type ConversationSnapshot, snapshotOf } from "./conversation.view.js";
import { REV_STEP } from "./revisions.js";
import { ContactStatus } from "../contact/contact.entity.js";

/** What a subscription stream keeps of its conversation. */
export interface ConversationRef {
  _id: Types.ObjectId;
  kind: "direct" | "group";
  last_seq: number;
  /** The viewer's first readable seq minus one (the last seq when they last joined). */
  joined_seq: number;
  /** Direct conversations: "<id>:<id>" of the two users. */
  direct_key?: string;
}

export class ConversationService {
  constructor(
    private readonly models: Models,
    private readonly pubSub: AppPubSub<ConversationTopics & UserTopics>,
  ) {}

  /** The direct conversation of two users, created on first use (unique direct_key: no twins). */
  async directFor(a: Types.ObjectId, b: Types.ObjectId): Promise<DocumentType<Conversation>> {
    const key = directKey(a.toHexString(), b.toHexString());
    const existing = await this.models.Conversation.findOne({ direct_key: key });
    if (existing) return existing;
    try {
      const created = await this.models.Conversation.create({
        kind: "direct",
        direct_key: key,
        members: [{ user_id: a }, { user_id: b }],
        last_seq: 0,
      });
      // "All my conversations" subscriptions of both users start following it.
      const snapshot = snapshotOf(created);
      for (const u of [a, b]) this.pubSub.publish("USER", u.toHexString(), { type: "membership", conversationId: snapshot.id, member: true });
      return created;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        const winner = await this.models.Conversation.findOne({ direct_key: key });
        if (winner) return winner;
      }
      throw err;
    }
  }

  /**
   * The conversation if the viewer is a member. NOT_FOUND alike for unknown ids and for
   * non-members (direct or group): an outsider cannot learn that a conversation exists.
   */
  async requireMember(viewerId: string, conversationId: string, field = "conversationId"): Promise<DocumentType<Conversation>> {
    const conv = await this.models.Conversation.findById(parseId(conversationId, field));
    if (!conv || !conv.members.some((m) => m.user_id.toHexString() === viewerId)) throw notFound("Conversation");
    return conv;
  }

  /**
   * The membership check of a subscription, reading only what a stream keeps (not the member
   * list, which for a big group is the bulk of the document).
   */
  async requireMemberLight(viewerId: string, conversationId: string): Promise<ConversationRef> {
    const id = parseId(conversationId, "conversationId");
    const viewer = new Types.ObjectId(viewerId);
    // Through the driver (common/lean.ts): every history page and send starts here.
    const conv = (await driverCollection(this.models.Conversation).findOne(
      { _id: id, "members.user_id": viewer },
      { projection: { kind: 1, last_seq: 1, direct_key: 1, members: { $elemMatch: { user_id: viewer } } } },
    )) as Pick<Conversation, "_id" | "kind" | "last_seq" | "direct_key" | "members"> | null;
    if (conv)
      return {
        _id: conv._id,
        kind: conv.kind,
        last_seq: conv.last_seq,
        joined_seq: conv.members?.[0]?.joined_seq ?? 0,
        ...(conv.direct_key ? { direct_key: conv.direct_key } : {}),
      };
    // Unknown and not-a-member answer alike (existence is not revealed).
    throw notFound("Conversation");
  }

  /** BLOCKED when either user of a direct conversation blocked the other (typing towards a blocker). */
  async assertNotBlocked(viewerId: string, conv: ConversationRef): Promise<void> {
    const other = conv.direct_key?.split(":").find((id) => id !== viewerId);
    if (!other) return;
    const [a, b] = [new Types.ObjectId(viewerId), new Types.ObjectId(other)];
    const found = await this.models.Contact.exists(
      mongoose.trusted({
        status: ContactStatus.BLOCKED,
        $or: [
          { user_id: a, contact_id: b },
          { user_id: b, contact_id: a },
        ],
      }) as Record<string, unknown>,
    );
    if (found) throw new AppError(ErrorCode.BLOCKED, "One of you has blocked the other");
  }

  async findDirect(viewerId: string, userId: string): Promise<DocumentType<Conversation> | null> {
    const other = parseId(userId, "userId");
    return this.models.Conversation.findOne({ direct_key: directKey(viewerId, other.toHexString()) });
  }

  /**
   * The viewer's conversations: the ones they pinned first, then the rest, each part by most
   * recent activity; direct ones appear once they have a message. Archived ones are left out,
   * or (`archived: true`) listed alone. One read: the member index gives the viewer's
   * conversations (as before), the viewer's pin becomes a sort key, and the keyset cursor is
   * (pinned, updated_at, _id), so pages stay stable when a pin or a message moves a row.
   */
  list(viewerId: string, page: PageArgs, options: { archived: boolean }): Promise<Connection<Conversation>> {
    const viewer = new Types.ObjectId(viewerId);
    const match = {
      // Top level, so the planner picks the members.user_id index (the $elemMatch only filters).
      "members.user_id": viewer,
      members: mongoose.trusted({ $elemMatch: { user_id: viewer, archived: options.archived ? true : mongoose.trusted({ $ne: true }) } }),
      $or: mongoose.trusted([{ kind: "group" }, { last_seq: mongoose.trusted({ $gt: 0 }) }]),
    };
    // 1 when the viewer's own member entry has a pin (a field of this read only, never stored).
    const viewerPinned = {
      $filter: { input: "$members", as: "m", cond: { $and: [{ $eq: ["$$m.user_id", viewer] }, { $ne: [{ $ifNull: ["$$m.pinned_at", null] }, null] }] } },
    };
    const pinned: mongoose.PipelineStage = { $addFields: { viewer_pinned: { $cond: [{ $gt: [{ $size: viewerPinned }, 0] }, 1, 0] } } };
    return paginatePipeline(
      this.models.Conversation as unknown as mongoose.Model<Conversation>,
      match,
      [pinned],
      [
        ["viewer_pinned", -1],
        ["updated_at", -1],
      ],
      page,
      20,
    );
  }

  /** Ids of every conversation the viewer belongs to (search scope, subscriptions). */
  async idsFor(viewerId: string): Promise<Types.ObjectId[]> {
    const convs = await this.models.Conversation.find({ "members.user_id": new Types.ObjectId(viewerId) }, { _id: 1 }).lean();
    return convs.map((c) => c._id);
  }

  /** The conversation loader's read: plain objects, only turned into snapshots (common/lean.ts). */
  async byIds(ids: readonly string[]): Promise<Array<Entity<Conversation> | null>> {
    const docs = await findEntities(this.models.Conversation, { _id: { $in: validObjectIds(ids) } });
    return alignByIds(ids, docs, (d) => d._id.toHexString());
  }

  /** Moves the viewer's delivered watermark forward to `upToSeq` (clamped to the last message), never back. */
  markDelivered(viewerId: string, conversationId: string, upToSeq: number): Promise<ConversationSnapshot> {
    return this.advance(viewerId, conversationId, upToSeq, { read: false, shared: false });
  }

  /**
   * Moves the viewer's read and delivered watermarks forward to `upToSeq`, never back. With
   * `shared` false (read receipts off) others keep seeing the last shared read mark.
   */
  markRead(viewerId: string, conversationId: string, upToSeq: number, options: { shared: boolean }): Promise<ConversationSnapshot> {
    return this.advance(viewerId, conversationId, upToSeq, { read: true, shared: options.shared });
  }

  /** Both marks: publishes a receipt when a shared mark moved. (`upToSeq >= 0` is checked by MarkArgs.) */
  private async advance(viewerId: string, conversationId: string, upToSeq: number, marks: { read: boolean; shared: boolean }): Promise<ConversationSnapshot> {
    const conv = await this.requireMember(viewerId, conversationId);
    const seq = Math.min(upToSeq, conv.last_seq);
    const before = conv.members.find((m) => m.user_id.toHexString() === viewerId)!;
    const max: Record<string, number> = { "members.$[me].delivered_seq": seq };
    if (marks.read) {
      max["members.$[me].read_seq"] = seq;
      if (marks.shared) max["members.$[me].shared_read_seq"] = seq;
    }
    // A read ends the member's "mark as unread" (conversation-state.service.ts).
    const clearsUnread = marks.read && before.marked_unread === true;
    // A mark that moves is a change others see (receipts) or the viewer's devices do: rev moves
    // with it (revisions.ts). A repeated mark moves nothing and takes no rev.
    const moves = seq > before.delivered_seq || (marks.read && seq > before.read_seq) || clearsUnread;
    const update: Record<string, unknown> = clearsUnread ? { $max: max, $set: { "members.$[me].marked_unread": false } } : { $max: max };
    if (moves) update.$inc = REV_STEP;
    const updated = await this.models.Conversation.findOneAndUpdate({ _id: conv._id }, update, {
      arrayFilters: [{ "me.user_id": new Types.ObjectId(viewerId) }],
      returnDocument: "after",
      timestamps: false,
    });
    if (!updated) throw notFound("Conversation");
    const after = updated.members.find((m) => m.user_id.toHexString() === viewerId)!;
    await this.updateMessageStatuses(updated, viewerId, { delivered: [before.delivered_seq, after.delivered_seq], read: [before.read_seq, after.read_seq] });
    const snapshot = snapshotOf(updated);
    const sharedMoved = after.delivered_seq !== before.delivered_seq || after.shared_read_seq !== before.shared_read_seq;
    if (sharedMoved) {
      this.pubSub.publish("CONVERSATION", snapshot.id, {
        type: "receipt",
        receipt: { conversationId: snapshot.id, userId: viewerId, deliveredSeq: after.delivered_seq, readSeq: after.shared_read_seq },
        conversation: snapshot,
      });
    } else if (after.read_seq !== before.read_seq || clearsUnread) {
      // Only the viewer's private state moved: their own lists (unread counts) change.
      this.pubSub.publish("USER", viewerId, { type: "membership", conversationId: snapshot.id, member: true, conversation: snapshot });
    }
    return snapshot;
  }

  /** Keeps the seed's per-message fields current: direct `status`, group `read_by`. */
  private async updateMessageStatuses(
    conv: Conversation,
    viewerId: string,
    moved: { delivered: [from: number, to: number]; read: [from: number, to: number] },
  ): Promise<void> {
    const [oldDelivered, newDelivered] = moved.delivered;
    const [oldRead, newRead] = moved.read;
    const viewer = new Types.ObjectId(viewerId);
    const others = { sender_id: mongoose.trusted({ $ne: viewer }) };
    if (conv.kind === "direct") {
      if (newRead > oldRead) {
        await this.models.DirectMessage.updateMany(
          { conversation_id: conv._id, ...others, seq: mongoose.trusted({ $lte: newRead }), status: mongoose.trusted({ $ne: "read" }) },
          { $set: { status: "read" } },
          { timestamps: false },
        );
      }
      if (newDelivered > oldDelivered) {
        await this.models.DirectMessage.updateMany(
          { conversation_id: conv._id, ...others, seq: mongoose.trusted({ $lte: newDelivered }), status: "sent" },
          { $set: { status: "delivered" } },
          { timestamps: false },
        );
      }
    } else if (newRead > oldRead) {
      await this.models.GroupMessage.updateMany(
        { conversation_id: conv._id, ...others, seq: mongoose.trusted({ $gt: oldRead, $lte: newRead }) },
        { $addToSet: { read_by: viewer } },
        { timestamps: false },
      );
    }
  }

  /** Members of a group conversation join and leave with the group. */
  async addMembers(conversationId: Types.ObjectId, userIds: Types.ObjectId[]): Promise<void> {
    if (userIds.length === 0) return;
    const conv = await this.models.Conversation.findById(conversationId);
    if (!conv) throw new AppError(ErrorCode.INTERNAL_SERVER_ERROR, "group conversation missing");
    const present = new Set(conv.members.map((m) => m.user_id.toHexString()));
    const joined = new Date();
    const fresh = userIds.filter((id) => !present.has(id.toHexString()));
    if (fresh.length === 0) return;
    // New members start with everything so far delivered and read: history is not "unread".
    await this.models.Conversation.updateOne(
      { _id: conversationId },
      {
        $inc: REV_STEP,
        $push: {
          members: {
            $each: fresh.map((user_id) => ({
              user_id,
              read_seq: conv.last_seq,
              delivered_seq: conv.last_seq,
              shared_read_seq: conv.last_seq,
              joined_at: joined,
              joined_seq: conv.last_seq,
            })),
          },
        },
      },
    );
  }

  async removeMember(conversationId: Types.ObjectId, userId: Types.ObjectId): Promise<void> {
    await this.models.Conversation.updateOne({ _id: conversationId }, { $pull: { members: { user_id: userId } }, $inc: REV_STEP });
  }

  /**
   * After a change stored outside the conversation that its view shows (the group's name, icon,
   * admins, state): written first, then this, so changes(since) picks it up (revisions.ts).
   */
  async bumpRev(conversationId: Types.ObjectId): Promise<void> {
    await this.models.Conversation.updateOne({ _id: conversationId }, { $inc: REV_STEP }, { timestamps: false });
  }

  async snapshot(conversationId: Types.ObjectId): Promise<ConversationSnapshot | null> {
    const conv = await this.models.Conversation.findById(conversationId);
    return conv ? snapshotOf(conv) : null;
  }
}

declare module "../../context.js" {
  interface Services {
    conversations: ConversationService;
  }
  interface SharedLoaders {
    conversation: DataLoader<string, ConversationSnapshot | null>;
  }
}
