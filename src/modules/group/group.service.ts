/**
 * Groups: creation (the creator is admin), admin-only changes, membership with a cap of
 * 1,024, roles, leaving (the last admin leaving promotes the longest-standing member), and
 * deactivation. The group's conversation (same id) follows every membership change.
 */
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../database.js";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ConversationService } from "../conversation/conversation.service.js";
import type { ContactService } from "../contact/contact.service.js";
import type { MediaService } from "../media/media.service.js";
import { type Group, GroupRole, MAX_GROUP_MEMBERS } from "./group.entity.js";
import type { CreateGroupInput, UpdateGroupInput } from "./group.inputs.js";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { AuditService } from "../audit/audit.service.js";
import { SecurityEventType } from "../audit/security-event.entity.js";

export class GroupService {
  constructor(
    private readonly models: Models,
    private readonly conversations: ConversationService,
    private readonly contacts: ContactService,
    private readonly media: MediaService,
    private readonly pubSub: AppPubSub,
    private readonly guard: AbuseGuard,
    private readonly audit: AuditService,
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

  async byIds(ids: readonly string[]): Promise<Array<DocumentType<Group> | null>> {
    const docs = await this.models.Group.find({ _id: mongoose.trusted({ $in: validObjectIds(ids) }) });
    return alignByIds(ids, docs, (d) => d._id.toHexString());
  }

  private async requireAdmin(viewerId: string, groupId: string): Promise<DocumentType<Group>> {
    const group = await this.get(groupId);
    if (!group.members.some((m) => m.toHexString() === viewerId)) throw notFound("Group");
    if (!group.admins.some((a) => a.toHexString() === viewerId)) throw forbidden("Only group admins can do this");
    return group;
  }

  /** Valid, existing, active users who have not blocked the adder. */
  private async newMembers(adder: Types.ObjectId, ids: string[], field: string): Promise<Types.ObjectId[]> {
    const unique = [...new Set(ids)].map((id) => parseId(id, field)).filter((id) => !id.equals(adder));
    if (unique.length === 0) return [];
    const found = await this.models.User.find({ _id: mongoose.trusted({ $in: unique }), is_active: true }, { _id: 1 }).lean();
    if (found.length !== unique.length) throw notFound("User");
    const blocked = await this.contacts.blockedAmong(adder, unique);
    if (blocked.length) throw new AppError(ErrorCode.BLOCKED, "Some of these users blocked you and cannot be added", { userIds: blocked.map((b) => b.toHexString()) });
    return unique;
  }

  async create(viewerId: string, input: CreateGroupInput): Promise<DocumentType<Group>> {
    const creator = new Types.ObjectId(viewerId);
    await this.guard.groupChange(viewerId);
    const members = await this.newMembers(creator, input.memberIds, "memberIds");
    if (members.length + 1 > MAX_GROUP_MEMBERS) throw badInput([{ field: "memberIds", message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    const icon = input.iconId ? (await this.media.ownImage(viewerId, input.iconId, "iconId"))._id.toHexString() : null;
    const id = new Types.ObjectId();
    const all = [creator, ...members];
    // The conversation first: a group is never visible without the place its messages go.
    await this.models.Conversation.create({ _id: id, kind: "group", members: all.map((user_id) => ({ user_id })), last_seq: 0 });
    const group = await this.models.Group.create({
      _id: id,
      name: input.name.trim(),
      description: input.description ?? null,
      icon,
      creator_id: creator,
      members: all,
      admins: [creator],
      is_active: true,
    });
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
    const fresh = (await this.newMembers(new Types.ObjectId(viewerId), userIds, "userIds")).filter((id) => !present.has(id.toHexString()));
    if (group.members.length + fresh.length > MAX_GROUP_MEMBERS) throw badInput([{ field: "userIds", message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    if (fresh.length === 0) return group;
    // The cap is re-checked by the update itself, so concurrent additions cannot pass it.
    const updated = await this.models.Group.findOneAndUpdate(
      { _id: group._id, [`members.${MAX_GROUP_MEMBERS - fresh.length}`]: mongoose.trusted({ $exists: false }) },
      { $addToSet: { members: mongoose.trusted({ $each: fresh }) } },
      { returnDocument: "after" },
    );
    if (!updated) throw badInput([{ field: "userIds", message: `a group has at most ${MAX_GROUP_MEMBERS} members` }]);
    await this.conversations.addMembers(group._id, fresh);
    await this.logAdmin(viewerId, SecurityEventType.GROUP_MEMBERS_ADDED, group._id, { userIds: fresh.map((f) => f.toHexString()) });
    await this.announce(updated, fresh, true);
    return updated;
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
    const group = await this.get(groupId);
    const me = new Types.ObjectId(viewerId);
    if (!group.members.some((m) => m.equals(me))) throw notFound("Group");
    await this.dropMember(group, me);
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
    this.pubSub.publish("USER", userId.toHexString(), { type: "membership", conversationId: group._id.toHexString(), member: false });
    await this.announce(updated!, [], true);
    return updated!;
  }

  /** Admins only: nobody can post any more; the group stays readable. */
  async deactivate(viewerId: string, id: string): Promise<DocumentType<Group>> {
    const group = await this.requireAdmin(viewerId, id);
    const updated = await this.models.Group.findOneAndUpdate({ _id: group._id }, { $set: { is_active: false } }, { returnDocument: "after" });
    await this.logAdmin(viewerId, SecurityEventType.GROUP_DEACTIVATED, group._id);
    await this.announce(updated!, [], true);
    return updated!;
  }

  mine(viewerId: string, page: PageArgs): Promise<Connection<DocumentType<Group>>> {
    return paginate(this.models.Group, { members: new Types.ObjectId(viewerId) }, [["_id", -1]], page, 20) as Promise<Connection<DocumentType<Group>>>;
  }

  /** Tells new members their conversation exists, and every member that the group changed. */
  private async announce(group: Group, joined: Types.ObjectId[], changed: boolean): Promise<void> {
    const snapshot = await this.conversations.snapshot(group._id);
    if (!snapshot) return;
    for (const id of joined) this.pubSub.publish("USER", id.toHexString(), { type: "membership", conversationId: snapshot.id, member: true, conversation: snapshot });
    if (changed) this.pubSub.publish("CONVERSATION", snapshot.id, { type: "conversation.updated", conversation: snapshot });
  }
}
