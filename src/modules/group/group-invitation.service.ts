/**
 * Storage of group invitations: made, listed, answered. The rules of joining (is the group
 * still there, is the inviter still an admin) are GroupService's, which accepts them.
 */
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { notFound } from "../../errors.js";
import { parseId } from "../../common/ids.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import { type GroupInvitation, INVITATION_TTL_MS, MAX_PENDING_INVITATIONS } from "./group-invitation.entity.js";

const live = () => mongoose.trusted({ $gt: new Date() });

export class GroupInvitationService {
  constructor(private readonly models: Models) {}

  /**
   * Invites users to a group (one bulk write). Inviting again renews the invitation and its
   * inviter. A user already holding MAX_PENDING_INVITATIONS unanswered ones gets no new one.
   */
  async invite(groupId: Types.ObjectId, inviterId: Types.ObjectId, userIds: Types.ObjectId[]): Promise<void> {
    if (userIds.length === 0) return;
    const full = await this.models.GroupInvitation.aggregate<{ _id: Types.ObjectId }>([
      { $match: { user_id: { $in: userIds }, group_id: { $ne: groupId }, expires_at: { $gt: new Date() } } },
      { $group: { _id: "$user_id", n: { $sum: 1 } } },
      { $match: { n: { $gte: MAX_PENDING_INVITATIONS } } },
    ]);
    const skip = new Set(full.map((f) => String(f._id)));
    const invitees = userIds.filter((id) => !skip.has(id.toHexString()));
    if (invitees.length === 0) return;
    const expires_at = new Date(Date.now() + INVITATION_TTL_MS);
    await this.models.GroupInvitation.bulkWrite(
      invitees.map((user_id) => ({
        updateOne: { filter: { group_id: groupId, user_id }, update: { $set: { inviter_id: inviterId, expires_at } }, upsert: true },
      })),
      { ordered: false },
    );
  }

  /** The viewer's unanswered, unexpired invitations, newest first (index user_id, _id). */
  list(viewerId: string, page: PageArgs): Promise<Connection<DocumentType<GroupInvitation>>> {
    return paginate(this.models.GroupInvitation, { user_id: new Types.ObjectId(viewerId), expires_at: live() }, [["_id", -1]], page, 20) as Promise<
      Connection<DocumentType<GroupInvitation>>
    >;
  }

  /** One of the viewer's own live invitations; NOT_FOUND for anything else (expired, someone else's). */
  async own(viewerId: string, id: string): Promise<DocumentType<GroupInvitation>> {
    const inv = await this.models.GroupInvitation.findOne({ _id: parseId(id), user_id: new Types.ObjectId(viewerId), expires_at: live() });
    if (!inv) throw notFound("Group invitation");
    return inv;
  }

  async remove(id: Types.ObjectId): Promise<void> {
    await this.models.GroupInvitation.deleteOne({ _id: id });
  }

  async decline(viewerId: string, id: string): Promise<boolean> {
    const res = await this.models.GroupInvitation.deleteOne({ _id: parseId(id), user_id: new Types.ObjectId(viewerId) });
    if (res.deletedCount === 0) throw notFound("Group invitation");
    return true;
  }

  /** Users with a live invitation to a group (index group_id, user_id). */
  async invitees(groupId: Types.ObjectId): Promise<string[]> {
    const docs = await this.models.GroupInvitation.find({ group_id: groupId, expires_at: live() }, { user_id: 1 }).lean();
    return docs.map((d) => d.user_id.toHexString());
  }
}

declare module "../../context.js" {
  interface Services {
    groupInvitations: GroupInvitationService;
  }
}
