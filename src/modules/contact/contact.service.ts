/**
 * Contacts: requests, acceptance, removal, blocking, and the reads that depend on them. Each
 * user owns their entry about the other; the rules for both entries live here.
 */
import type DataLoader from "dataloader";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { driverCollection } from "../../common/lean.js";
import { AppError, ErrorCode, badInput, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import { type Contact, ContactStatus } from "./contact.entity.js";
import type { UpdateContactInput } from "./contact.input.js";
import type { AppPubSub } from "../../pubsub.js";
import type { UserTopics } from "../user/user.events.js";
import type {} from "./contact.events.js";

const blocked = (): AppError => new AppError(ErrorCode.BLOCKED, "One of you has blocked the other");

export interface ContactRequestNode {
  fromId: Types.ObjectId;
  createdAt: Date;
}

export class ContactService {
  constructor(
    private readonly models: Models,
    /** Blocks are published to the blocked user: their open streams stop showing the blocker live. */
    private readonly pubSub: AppPubSub<UserTopics>,
    private readonly guard: AbuseGuard,
  ) {}

  /** The other user of a contact operation: a valid, existing, active user who is not the viewer. */
  private async other(viewerId: string, userId: string): Promise<Types.ObjectId> {
    const id = parseId(userId, "userId");
    if (id.toHexString() === viewerId) throw badInput([{ field: "userId", message: "you cannot do this with yourself" }]);
    if (!(await this.models.User.exists({ _id: id, is_active: true }))) throw notFound("User");
    return id;
  }

  /** Both users' entries about each other, in one read. */
  private async pair(viewer: Types.ObjectId, other: Types.ObjectId): Promise<{ mine: DocumentType<Contact> | null; theirs: DocumentType<Contact> | null }> {
    const entries = await this.models.Contact.find(
      mongoose.trusted({
        $or: [
          { user_id: viewer, contact_id: other },
          { user_id: other, contact_id: viewer },
        ],
      }) as Record<string, unknown>,
    );
    return {
      mine: entries.find((e) => e.user_id.equals(viewer)) ?? null,
      theirs: entries.find((e) => e.user_id.equals(other)) ?? null,
    };
  }

  /** Creates or updates the viewer's entry (upsert: a concurrent duplicate cannot be created). */
  private setMine(viewer: Types.ObjectId, other: Types.ObjectId, status: ContactStatus): Promise<DocumentType<Contact>> {
    return this.models.Contact.findOneAndUpdate(
      { user_id: viewer, contact_id: other },
      { $set: { status }, $setOnInsert: { is_favorite: false } },
      { upsert: true, returnDocument: "after" },
    ) as Promise<DocumentType<Contact>>;
  }

  async request(viewerId: string, userId: string): Promise<DocumentType<Contact>> {
    const viewer = new Types.ObjectId(viewerId);
    const other = await this.other(viewerId, userId);
    const { mine, theirs } = await this.pair(viewer, other);
    if (mine?.status === ContactStatus.BLOCKED || theirs?.status === ContactStatus.BLOCKED) throw blocked();
    if (mine && mine.status !== ContactStatus.PENDING) return mine;
    await this.guard.contactRequest(viewerId);
    if (theirs?.status === ContactStatus.PENDING || theirs?.status === ContactStatus.ACCEPTED) {
      // They asked first: asking back accepts.
      await this.models.Contact.updateOne({ _id: theirs._id }, { $set: { status: ContactStatus.ACCEPTED } });
      return this.changed(await this.setMine(viewer, other, ContactStatus.ACCEPTED), viewer, other);
    }
    return mine ?? this.changed(await this.setMine(viewer, other, ContactStatus.PENDING), viewer, other);
  }

  async accept(viewerId: string, userId: string): Promise<DocumentType<Contact>> {
    const viewer = new Types.ObjectId(viewerId);
    const other = await this.other(viewerId, userId);
    const { mine, theirs } = await this.pair(viewer, other);
    if (mine?.status === ContactStatus.BLOCKED) throw blocked();
    if (theirs?.status !== ContactStatus.PENDING) throw notFound("Contact request");
    await this.models.Contact.updateOne({ _id: theirs._id }, { $set: { status: ContactStatus.ACCEPTED } });
    return this.changed(await this.setMine(viewer, other, ContactStatus.ACCEPTED), viewer, other);
  }

  async decline(viewerId: string, userId: string): Promise<boolean> {
    const other = parseId(userId, "userId");
    const res = await this.models.Contact.deleteOne({ user_id: other, contact_id: new Types.ObjectId(viewerId), status: ContactStatus.PENDING });
    if (res.deletedCount === 0) throw notFound("Contact request");
    return this.changed(true, new Types.ObjectId(viewerId), other);
  }

  /** Ends the contact for both users; a block stays in place. */
  async remove(viewerId: string, userId: string): Promise<boolean> {
    const viewer = new Types.ObjectId(viewerId);
    const other = parseId(userId, "userId");
    const mine = await this.models.Contact.deleteOne({
      user_id: viewer,
      contact_id: other,
      status: mongoose.trusted({ $in: [ContactStatus.ACCEPTED, ContactStatus.PENDING] }),
    });
    if (mine.deletedCount === 0) throw notFound("Contact");
    await this.models.Contact.deleteOne({ user_id: other, contact_id: viewer, status: ContactStatus.ACCEPTED });
    return this.changed(true, viewer, other);
  }

  /** Blocks: the viewer's entry becomes BLOCKED, the other's request or contact entry goes. */
  async block(viewerId: string, userId: string): Promise<DocumentType<Contact>> {
    const viewer = new Types.ObjectId(viewerId);
    const other = parseId(userId, "userId");
    if (other.equals(viewer)) throw badInput([{ field: "userId", message: "you cannot block yourself" }]);
    if (!(await this.models.User.exists({ _id: other }))) throw notFound("User");
    const entry = await this.setMine(viewer, other, ContactStatus.BLOCKED);
    await this.models.Contact.deleteOne({ user_id: other, contact_id: viewer, status: mongoose.trusted({ $ne: ContactStatus.BLOCKED }) });
    await this.changed(entry, viewer, other);
    this.pubSub.publish("USER", other.toHexString(), { type: "block", by: viewerId, active: true });
    return entry;
  }

  async unblock(viewerId: string, userId: string): Promise<boolean> {
    const other = parseId(userId, "userId");
    const res = await this.models.Contact.deleteOne({ user_id: new Types.ObjectId(viewerId), contact_id: other, status: ContactStatus.BLOCKED });
    if (res.deletedCount === 0) throw notFound("Block");
    await this.changed(true, new Types.ObjectId(viewerId), other);
    this.pubSub.publish("USER", other.toHexString(), { type: "block", by: viewerId, active: false });
    return true;
  }

  async update(viewerId: string, userId: string, input: UpdateContactInput): Promise<DocumentType<Contact>> {
    const set: Record<string, unknown> = {};
    const unset: Record<string, 1> = {};
    if (input.notes !== undefined) {
      if (input.notes === null) unset.notes = 1;
      else set.notes = input.notes;
    }
    if (typeof input.isFavorite === "boolean") set.is_favorite = input.isFavorite;
    const entry = await this.models.Contact.findOneAndUpdate(
      { user_id: new Types.ObjectId(viewerId), contact_id: parseId(userId, "userId") },
      { ...(Object.keys(set).length ? { $set: set } : {}), ...(Object.keys(unset).length ? { $unset: unset } : {}) },
      { returnDocument: "after" },
    );
    if (!entry) throw notFound("Contact");
    return this.changed(entry, new Types.ObjectId(viewerId));
  }

  /**
   * After a write of contact entries: the users whose contacts, blocks or incoming requests it
   * changed get a new `contacts_rev`, so their changes(since) sends the list again. Written after
   * the entries, so a reader in between sees the old rev and gets the change next time.
   */
  private async changed<T>(result: T, ...userIds: Types.ObjectId[]): Promise<T> {
    await this.models.User.updateMany({ _id: mongoose.trusted({ $in: userIds }) }, { $inc: { contacts_rev: 1 } }, { timestamps: false });
    return result;
  }

  list(viewerId: string, status: ContactStatus | null | undefined, favoritesOnly: boolean, page: PageArgs): Promise<Connection<DocumentType<Contact>>> {
    const filter: Record<string, unknown> = { user_id: new Types.ObjectId(viewerId) };
    if (status) filter.status = status;
    if (favoritesOnly) filter.is_favorite = true;
    return paginate(this.models.Contact, filter, [["_id", 1]], page, 50) as Promise<Connection<DocumentType<Contact>>>;
  }

  async incoming(viewerId: string, page: PageArgs): Promise<Connection<ContactRequestNode>> {
    const conn = await paginate(this.models.Contact, { contact_id: new Types.ObjectId(viewerId), status: ContactStatus.PENDING }, [["_id", 1]], page, 50);
    return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: { fromId: e.node.user_id, createdAt: e.node.created_at } })) };
  }

  /** The viewer's own entry with this id (node lookup), or null. */
  ownEntry(viewerId: string, id: Types.ObjectId): Promise<DocumentType<Contact> | null> {
    return this.models.Contact.findOne({ _id: id, user_id: new Types.ObjectId(viewerId) });
  }

  /** True when either user blocked the other. */
  async blockedBetween(a: Types.ObjectId, b: Types.ObjectId): Promise<boolean> {
    const found = await this.models.Contact.exists(
      mongoose.trusted({
        status: ContactStatus.BLOCKED,
        $or: [
          { user_id: a, contact_id: b },
          { user_id: b, contact_id: a },
        ],
      }) as Record<string, unknown>,
    );
    return found !== null;
  }

  /**
   * Both entries between two users in one query (the send path): whether either blocked the
   * other, and `b`'s entry about `a` (whether `b` accepted `a` as a contact).
   */
  async between(a: Types.ObjectId, b: Types.ObjectId): Promise<{ blocked: boolean; theirs: ContactStatus | null }> {
    const entries = await this.models.Contact.find(
      mongoose.trusted({
        $or: [
          { user_id: a, contact_id: b },
          { user_id: b, contact_id: a },
        ],
      }) as Record<string, unknown>,
      { user_id: 1, status: 1 },
    ).lean();
    return {
      blocked: entries.some((e) => e.status === ContactStatus.BLOCKED),
      theirs: entries.find((e) => e.user_id.equals(b))?.status ?? null,
    };
  }

  /** Which of `userIds` blocked `by` or were blocked by them (group additions). */
  async blockedAmong(by: Types.ObjectId, userIds: Types.ObjectId[]): Promise<Types.ObjectId[]> {
    const entries = await this.models.Contact.find(
      { user_id: mongoose.trusted({ $in: userIds }), contact_id: by, status: ContactStatus.BLOCKED },
      { user_id: 1 },
    ).lean();
    return entries.map((e) => e.user_id);
  }

  /** Ids of the users who blocked the viewer (left out of search, shown no presence). */
  async blockedBy(viewerId: string): Promise<Types.ObjectId[]> {
    const entries = await this.models.Contact.find({ contact_id: new Types.ObjectId(viewerId), status: ContactStatus.BLOCKED }, { user_id: 1 }).lean();
    return entries.map((e) => e.user_id);
  }

  /** For loaders: the viewer's entries about these users. */
  async entriesAbout(viewerId: string, userIds: readonly string[]): Promise<Array<DocumentType<Contact> | null>> {
    const entries = await this.models.Contact.find({ user_id: new Types.ObjectId(viewerId), contact_id: mongoose.trusted({ $in: validObjectIds(userIds) }) });
    return alignByIds(userIds, entries, (e) => e.contact_id.toHexString());
  }

  /**
   * For loaders: each user's own entry status about the viewer, where it is ACCEPTED (the viewer
   * is their contact) or BLOCKED; null otherwise. Index (contact_id, status).
   */
  async statusesTowards(viewerId: string, userIds: readonly string[]): Promise<Array<ContactStatus | null>> {
    // Through the driver (common/lean.ts): every response showing users asks this.
    const entries = (await driverCollection(this.models.Contact)
      .find(
        {
          contact_id: new Types.ObjectId(viewerId),
          status: { $in: [ContactStatus.ACCEPTED, ContactStatus.BLOCKED] },
          user_id: { $in: validObjectIds(userIds) },
        },
        { projection: { user_id: 1, status: 1 } },
      )
      .toArray()) as unknown as Array<Pick<Contact, "user_id" | "status">>;
    const byUser = new Map(entries.map((e) => [e.user_id.toHexString(), e.status]));
    return userIds.map((id) => byUser.get(id) ?? null);
  }

  /** Which of `ownerIds` have the viewer as an accepted contact (group additions, presence). */
  async contactsOf(viewer: Types.ObjectId, ownerIds: Types.ObjectId[]): Promise<Set<string>> {
    if (ownerIds.length === 0) return new Set();
    const entries = await this.models.Contact.find(
      { user_id: mongoose.trusted({ $in: ownerIds }), contact_id: viewer, status: ContactStatus.ACCEPTED },
      { user_id: 1 },
    ).lean();
    return new Set(entries.map((e) => e.user_id.toHexString()));
  }
}

declare module "../../context.js" {
  interface Services {
    contacts: ContactService;
  }
  interface ViewerLoaders {
    /** The viewer's contact entry about a user. */
    contactOf: DataLoader<string, DocumentType<Contact> | null>;
    /** Whether a user blocked the viewer. */
    blockedViewer: DataLoader<string, boolean>;
    /**
     * A user's own entry about the viewer (ACCEPTED: the viewer is their contact; BLOCKED), for
     * privacy settings. One batched read answers every user of a response.
     */
    entryAboutViewer: DataLoader<string, ContactStatus | null>;
  }
}
