/**
 * Groups: creation (the creator is admin), admin-only changes, membership with a cap of
 * 1,024, roles, leaving (the last admin leaving promotes the longest-standing member), and
 * deactivation. The group's conversation (same id) follows every membership change. A user
 * whose groupAddPolicy is CONTACTS is not added by a non-contact: they get an invitation.
 */
import type DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Database, Models } from "../../common/database.js";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ConversationTopics } from "../conversation/conversation.events.js";
import type { UserTopics } from "../user/user.events.js";
import type { ConversationService } from "../conversation/conversation.service.js";
import type { ContactService } from "../contact/contact.service.js";
import type { MediaService } from "../media/media.service.js";
import { type Group, GroupRole, MAX_GROUP_MEMBERS } from "./group.entity.js";
import type { CreateGroupInput, UpdateGroupInput } from "./group.input.js";
import type { GroupInvitationService } from "./group-invitation.service.js";
import { GroupAddPolicy, privacyOf } from "../user/privacy.js";

/** Users an addition names: those added now, and those who get an invitation instead. */
interface Additions {
  add: Types.ObjectId[];
  invite: Types.ObjectId[];
}
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { AuditService } from "../audit/audit.service.js";
import { SecurityEventType } from "../audit/security-event.entity.js";

export class GroupService {
  constructor(
    private readonly models: Models,
    private readonly conversations: ConversationService,
    private readonly contacts: ContactService,
    private readonly media: MediaService,
    private readonly pubSub: AppPubSub<ConversationTopics & UserTopics>,
    private readonly invitations: GroupInvitationService,
    private readonly guard: AbuseGuard,
    private readonly audit: AuditService,
    private readonly db: Pick<Database, "transaction">,
  ) {}

  /** Group admin actions go to the acting admin's security log. */
  private logAdmin(viewerId: string, type: SecurityEventType, groupId: Types.ObjectId, details: Record<string, unknown> = {}): Promise<void> {
    return this.audit.record({ type, userId: viewerId, details: { groupId: groupId.toHexString(), ...details } });
  }

  async get(id: string): Promise<DocumentType<Group>> {
    const group = await this.models.Group.findById(parseId(id));
    if (!group) throw notFound("Group");
    return group;
  }

  /** The group for one of its members; NOT_FOUND alike for unknown ids and for outsiders. */
  async getForMember(viewerId: string, id: string): Promise<DocumentType<Group>> {
    const group = await this.get(id);
    if (!group.members.some((m) => m.toHexString() === viewerId)) throw notFound("Group");
    return group;
  }

  async byIds(ids: readonly string[]): Promise<Array<DocumentType<Group> | null>> {
    const docs = await this.models.Group.find({ _id: mongoose.trusted({ $in: validObjectIds(ids) }) });
    return alignByIds(ids, docs, (d) => d._id.toHexString());
  }

  private async requireAdmin(viewerId: string, groupId: string): Promise<DocumentType<Group>> {
    const group = await this.getForMember(viewerId, groupId);
    if (!group.admins.some((a) => a.toHexString() === viewerId)) throw forbidden("Only group admins can do this");
    return group;
  }

  /**
   * Valid, existing, active users who have not blocked the adder, split by their
   * groupAddPolicy: CONTACTS users who do not have the adder as an accepted contact are invited.
   */
  private async newMembers(adder: Types.ObjectId, ids: string[], field: string): Promise<Additions> {
    const unique = [...new Set(ids)].map((id) => parseId(id, field)).filter((id) => !id.equals(adder));
    if (unique.length === 0) return { add: [], invite: [] };
    const found = await this.models.User.find({ _id: mongoose.trusted({ $in: unique }), is_active: true }, { _id: 1, settings: 1 }).lean();
    if (found.length !== unique.length) throw notFound("User");
    const blocked = await this.contacts.blockedAmong(adder, unique);
    if (blocked.length)
      throw new AppError(ErrorCode.BLOCKED, "Some of these users blocked you and cannot be added", { userIds: blocked.map((b) => b.toHexString()) });
    const restricted = found.filter((u) => privacyOf(u.settings).group_add_policy === GroupAddPolicy.CONTACTS).map((u) => u._id);
    const allowed = await this.contacts.contactsOf(adder, restricted);
    const invite = new Set(restricted.filter((id) => !allowed.has(id.toHexString())).map((id) => id.toHexString()));
    return { add: unique.filter((id) => !invite.has(id.toHexString())), invite: unique.filter((id) => invite.has(id.toHexString())) };
  }

  async create(viewerId: string, input: CreateGroupInput): Promise<DocumentType<Group>> {
    const creator = new Types.ObjectId(viewerId);
    await this.guard.groupChange(viewerId);
    const { add: members, invite } = await this.newMembers(creator, input.memberIds, "memberIds");
    if (members.length + 1 > MAX_GROUP_MEMBERS) throw badInput([{ field: "memberIds", message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    const icon = input.iconId ? (await this.media.ownImage(viewerId, input.iconId, "iconId"))._id.toHexString() : null;
    const id = new Types.ObjectId();
    const all = [creator, ...members];
    // The group and its conversation in one transaction (when the database has them): a crash
    // in between leaves neither. Without transactions the conversation goes first, so a group is
    // never visible without the place its messages go (a lone conversation has no group to show).
    const [group] = await this.db.transaction(async (session) => {
      await this.models.Conversation.create([{ _id: id, kind: "group", members: all.map((user_id) => ({ user_id })), last_seq: 0 }], { session });
      return this.models.Group.create(
        [
          {
            _id: id,
            name: input.name.trim(),
            description: input.description ?? null,
            icon,
            creator_id: creator,
            members: all,
            admins: [creator],
            is_active: true,
          },
        ],
        { session },
      );
    });
    await this.invitations.invite(id, creator, invite);
    await this.announce(group, all, true);
    return group;
  }

  async update(viewerId: string, id: string, input: UpdateGroupInput): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, id);
    const set: Record<string, unknown> = {};
    if (input.name !== undefined && input.name !== null) set.name = input.name.trim();
    if (input.description !== undefined) set.description = input.description;
    if (input.iconId !== undefined) set.icon = input.iconId === null ? null : (await this.media.ownImage(viewerId, input.iconId, "iconId"))._id.toHexString();
    const updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, { $set: set }, { returnDocument: "after" });
    await this.logAdmin(viewerId, SecurityEventType.GROUP_UPDATED, group._id, { fields: Object.keys(set) });
    await this.announce(updated!, [], true);
    return updated!;
  }

  async addMembers(viewerId: string, groupId: string, userIds: string[]): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, groupId);
    if (!group.is_active) throw forbidden("This group is deactivated");
    await this.guard.groupChange(viewerId);
    const present = new Set(group.members.map((m) => m.toHexString()));
    const adder = new Types.ObjectId(viewerId);
    const additions = await this.newMembers(adder, userIds, "userIds");
    const fresh = additions.add.filter((id) => !present.has(id.toHexString()));
    const invite = additions.invite.filter((id) => !present.has(id.toHexString()));
    if (group.members.length + fresh.length > MAX_GROUP_MEMBERS)
      throw badInput([{ field: "userIds", message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    await this.invitations.invite(group._id, adder, invite);
    if (fresh.length === 0) return group;
    const updated = await this.join(group, fresh, "userIds");
    await this.logAdmin(viewerId, SecurityEventType.GROUP_MEMBERS_ADDED, group._id, { userIds: fresh.map((f) => f.toHexString()) });
    return updated;
  }

  /** Adds members; the cap is re-checked by the update itself, so concurrent additions cannot pass it. */
  private async join(group: DocumentType<Group>, fresh: Types.ObjectId[], field: string): Promise<DocumentType<Group>> {
    const updated = await this.models.Group.findOneAndUpdate(
      { _id: group._id, [`members.${MAX_GROUP_MEMBERS - fresh.length}`]: mongoose.trusted({ $exists: false }) },
      { $addToSet: { members: mongoose.trusted({ $each: fresh }) } },
      { returnDocument: "after" },
    );
    if (!updated) throw badInput([{ field, message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    await this.conversations.addMembers(group._id, fresh);
    await this.announce(updated, fresh, true);
    return updated;
  }

  /**
   * The invitee joins, if the invitation still stands: the group exists and is active, and the
   * inviter is still one of its admins (only admins add members). A void invitation is removed
   * and answers NOT_FOUND.
   */
  async acceptInvitation(viewerId: string, invitationId: string): Promise<DocumentType<Group>> {
    const inv = await this.invitations.own(viewerId, invitationId);
    const me = new Types.ObjectId(viewerId);
    const group = await this.models.Group.findById(inv.group_id);
    const stands = group?.is_active && group.members.some((m) => m.equals(inv.inviter_id)) && group.admins.some((a) => a.equals(inv.inviter_id));
    if (!group || !stands) {
      await this.invitations.remove(inv._id);
      throw notFound("Group invitation");
    }
    const joined = group.members.some((m) => m.equals(me)) ? group : await this.join(group, [me], "id");
    await this.invitations.remove(inv._id);
    return joined;
  }

  /** Admins see whom the group invited (users still to answer); others an empty list. */
  async invitees(viewerId: string, group: Group): Promise<string[]> {
    if (!group.admins.some((a) => a.toHexString() === viewerId)) return [];
    return this.invitations.invitees(group._id);
  }

  async removeMember(viewerId: string, groupId: string, userId: string): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, groupId);
    const target = parseId(userId, "userId");
    if (target.toHexString() === viewerId) throw badInput([{ field: "userId", message: "use leaveGroup to leave" }]);
    if (!group.members.some((m) => m.equals(target))) throw notFound("Member");
    const updated = await this.dropMember(group, target);
    await this.logAdmin(viewerId, SecurityEventType.GROUP_MEMBER_REMOVED, group._id, { userId: target.toHexString() });
    return updated;
  }

  async setRole(viewerId: string, groupId: string, userId: string, role: GroupRole): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, groupId);
    const target = parseId(userId, "userId");
    if (!group.members.some((m) => m.equals(target))) throw notFound("Member");
    const isAdmin = group.admins.some((a) => a.equals(target));
    if (role === GroupRole.MEMBER && isAdmin && group.admins.length === 1) throw forbidden("The last admin cannot step down; make another member admin first");
    const update = role === GroupRole.ADMIN ? { $addToSet: { admins: target } } : { $pull: { admins: target } };
    const updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, update, { returnDocument: "after" });
    await this.logAdmin(viewerId, SecurityEventType.GROUP_ROLE_CHANGED, group._id, { userId: target.toHexString(), role });
    await this.announce(updated!, [], true);
    return updated!;
  }

  /** Leaves; the last admin leaving promotes the longest-standing remaining member. */
  async leave(viewerId: string, groupId: string): Promise<boolean> {
    const group = await this.getForMember(viewerId, groupId);
    await this.dropMember(group, new Types.ObjectId(viewerId));
    return true;
  }

  private async dropMember(group: DocumentType<Group>, userId: Types.ObjectId): Promise<DocumentType<Group>> {
    let updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, { $pull: { members: userId, admins: userId } }, { returnDocument: "after" });
    await this.conversations.removeMember(group._id, userId);
    if (updated && updated.admins.length === 0 && updated.members.length > 0) {
      const conv = await this.models.Conversation.findById(group._id);
      const oldest = [...(conv?.members ?? [])].sort((a, b) => new Date(a.joined_at).getTime() - new Date(b.joined_at).getTime())[0];
      const heir = oldest?.user_id ?? updated.members[0];
      updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, { $addToSet: { admins: heir } }, { returnDocument: "after" });
    }
    // Their open streams of this conversation end (one-conversation) or drop it (all-conversations).
    this.pubSub.publish("CONVERSATION", group._id.toHexString(), { type: "access.revoked", userIds: [userId.toHexString()] });
    this.pubSub.publish("USER", userId.toHexString(), { type: "membership", conversationId: group._id.toHexString(), member: false });
    await this.announce(updated!, [], true);
    return updated!;
  }

  /**
   * Admins only: nobody can post any more; the group stays readable, but every live stream of
   * it opened before ends (one-conversation) or drops it (all-conversations).
   */
  async deactivate(viewerId: string, id: string): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, id);
    const updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, { $set: { is_active: false } }, { returnDocument: "after" });
    await this.logAdmin(viewerId, SecurityEventType.GROUP_DEACTIVATED, group._id);
    await this.announce(updated!, [], true);
    this.pubSub.publish("CONVERSATION", group._id.toHexString(), { type: "access.revoked", userIds: null });
    return updated!;
  }

  mine(viewerId: string, page: PageArgs): Promise<Connection<DocumentType<Group>>> {
    return paginate(this.models.Group, { members: new Types.ObjectId(viewerId) }, [["_id", -1]], page, 20) as Promise<Connection<DocumentType<Group>>>;
  }

  /**
   * Tells new members their conversation exists, and every member that the group changed. Every
   * group change is written before it is announced: the conversation's rev moves here, after the
   * write, so changes(since) shows the new group to whoever read the old one (revisions.ts).
   */
  private async announce(group: Group, joined: Types.ObjectId[], changed: boolean): Promise<void> {
    if (changed) await this.conversations.bumpRev(group._id);
    const snapshot = await this.conversations.snapshot(group._id);
    if (!snapshot) return;
    for (const id of joined)
      this.pubSub.publish("USER", id.toHexString(), { type: "membership", conversationId: snapshot.id, member: true, conversation: snapshot });
    if (changed) this.pubSub.publish("CONVERSATION", snapshot.id, { type: "conversation.updated", conversation: snapshot });
  }
}

declare module "../../context.js" {
  interface Services {
    groups: GroupService;
  }
  interface SharedLoaders {
    group: DataLoader<string, DocumentType<Group> | null>;
  }
}
