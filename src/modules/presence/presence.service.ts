/**
 * Presence: a user's first graphql-ws connection (on any instance) makes them ONLINE; when the
 * last one closes they turn OFFLINE after a grace period (a reconnect within it changes
 * nothing) and `last_seen` is updated. setPresence sets AWAY/BUSY, a custom status and device
 * info. Every change is published on the user's own PRESENCE topic with the list of users they
 * blocked, who never receive it, and the audience their lastSeenVisibility allows.
 */
import type DataLoader from "dataloader";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ContactService } from "../contact/contact.service.js";
import { ContactStatus } from "../contact/contact.entity.js";
import type { ConnectionTracker } from "./connection-tracker.js";
import { type PresenceDoc, PresenceStatus } from "./presence.entity.js";
import type { SetPresenceInput } from "./presence.input.js";
import type { PresenceView } from "./presence.view.js";
import type { PresenceEvent, PresenceTopics } from "./presence.events.js";
import { Visibility, maySee, privacyOf, visibilityOr } from "../user/privacy.js";

/** Whether a subscriber may receive a presence event: decided from what the event carries. */
export function eventVisibleTo(ev: PresenceEvent, viewerId: string): boolean {
  if (ev.presence.userId === viewerId) return true;
  const level = visibilityOr(ev.visibility, Visibility.CONTACTS);
  return maySee(level, { self: false, blocked: ev.hiddenFrom.includes(viewerId), contact: ev.contacts?.includes(viewerId) ?? false });
}

/** What a presence view is made of. */
type PresenceFields = Pick<PresenceDoc, "status" | "last_active" | "custom_status" | "device_info">;

export function presenceView(userId: string, doc: PresenceFields | null, lastSeen?: Date | null): PresenceView {
  if (!doc) return { userId, status: PresenceStatus.OFFLINE, lastActive: (lastSeen ?? new Date(0)).toISOString(), customStatus: null, deviceInfo: null };
  const d = doc.device_info;
  return {
    userId,
    status: doc.status,
    lastActive: doc.last_active.toISOString(),
    customStatus: doc.custom_status ?? null,
    deviceInfo:
      d && (d.device_type || d.app_version || d.platform)
        ? { deviceType: d.device_type ?? null, appVersion: d.app_version ?? null, platform: d.platform ?? null }
        : null,
  };
}

export class PresenceService {
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** Per user, this instance's connection changes run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly models: Models,
    private readonly contacts: ContactService,
    private readonly pubSub: AppPubSub<PresenceTopics>,
    private readonly tracker: ConnectionTracker,
    private readonly options: {
      graceMs: number;
      onError?: (err: unknown) => void;
      /** No other instance shares the connection counts (no Redis): stopping ends every presence held here. */
      singleInstance?: boolean;
    },
  ) {}

  start(): void {
    this.tracker.start(
      (userId) => this.goOffline(userId),
      (e) => this.options.onError?.(e),
    );
  }

  /**
   * Stops timers. Without Redis this instance is the only one: the users it held (connected,
   * or within their grace period) are offline now.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.queues.values()]);
    const pending = [...this.graceTimers.keys()];
    for (const t of this.graceTimers.values()) clearTimeout(t);
    this.graceTimers.clear();
    if (this.options.singleInstance) {
      for (const userId of new Set([...pending, ...this.tracker.localUsers()])) await this.goOffline(userId).catch((e) => this.options.onError?.(e));
    }
    await this.tracker.stop();
  }

  private serial(userId: string, work: () => Promise<void>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const next = (this.queues.get(userId) ?? Promise.resolve()).then(work).catch((e) => this.options.onError?.(e));
    this.queues.set(userId, next);
    void next.finally(() => {
      if (this.queues.get(userId) === next) this.queues.delete(userId);
    });
    return next;
  }

  /** A graphql-ws connection of this user was accepted. */
  /**
   * Follows the presence of `targets` for `viewerId`: one listener per followed user's own topic;
   * the owner's block list and privacy audience travel with each event, so delivery reads nothing.
   * Returns the unfollow.
   */
  follow(targets: readonly string[], viewerId: string, onEvent: (ev: PresenceEvent) => void): () => void {
    const offs = targets.map((t) =>
      this.pubSub.listen("PRESENCE", t, (ev) => {
        if (eventVisibleTo(ev, viewerId)) onEvent(ev);
      }),
    );
    return () => {
      for (const off of offs) off();
    };
  }

  connected(userId: string): Promise<void> {
    return this.serial(userId, async () => {
      const pending = this.graceTimers.get(userId);
      if (pending) {
        clearTimeout(pending);
        this.graceTimers.delete(userId);
      }
      if ((await this.tracker.add(userId)) === 1) await this.write(userId, { status: PresenceStatus.ONLINE }, true);
    });
  }

  /** A graphql-ws connection of this user closed. */
  disconnected(userId: string): Promise<void> {
    return this.serial(userId, async () => {
      if ((await this.tracker.remove(userId)) > 0) return;
      const timer = setTimeout(() => {
        this.graceTimers.delete(userId);
        void this.serial(userId, async () => {
          if ((await this.tracker.total(userId)) === 0) await this.goOffline(userId);
        });
      }, this.options.graceMs);
      timer.unref();
      this.graceTimers.set(userId, timer);
    });
  }

  /** OFFLINE, once (whoever marks it first publishes), and the user's last_seen. */
  async goOffline(userId: string): Promise<void> {
    const now = new Date();
    const uid = new Types.ObjectId(userId);
    await this.models.User.updateOne({ _id: uid }, { $set: { last_seen: now } });
    const changed = await this.models.Presence.findOneAndUpdate(
      { user_id: uid, status: mongoose.trusted({ $ne: PresenceStatus.OFFLINE }) },
      { $set: { status: PresenceStatus.OFFLINE, last_active: now } },
      { returnDocument: "after" },
    ).lean();
    if (changed) await this.publish(userId, changed);
  }

  /** Upserts the user's presence; publishes when something visible changed (or always, when asked). */
  private async write(userId: string, set: Record<string, unknown>, onlyIfChanged: boolean, unset: Record<string, 1> = {}): Promise<PresenceView> {
    const uid = new Types.ObjectId(userId);
    const $set = { ...set, last_active: new Date() };
    const update = {
      $set,
      // A first presence written without a status (setPresence of a custom status only) is ONLINE.
      ...(set.status ? {} : { $setOnInsert: { status: PresenceStatus.ONLINE } }),
      ...(Object.keys(unset).length ? { $unset: unset } : {}),
    };
    const upsert = () => this.models.Presence.findOneAndUpdate({ user_id: uid }, update, { upsert: true, returnDocument: "before" }).lean();
    // Two instances creating a user's first presence at once: the loser updates the winner's.
    const before = await upsert().catch((err: { code?: number }) => (err.code === 11000 ? upsert() : Promise.reject(err)));
    // The document as the update left it, derived rather than read back.
    const after = { ...(before ?? { status: PresenceStatus.ONLINE }), ...$set } as PresenceFields & Record<string, unknown>;
    for (const key of Object.keys(unset)) delete after[key];
    if (!onlyIfChanged || !before || before.status !== after.status) await this.publish(userId, after);
    return presenceView(userId, after);
  }

  /** Publishes with the audience the owner allows (one read of their settings, one of their contact list). */
  private async publish(userId: string, doc: PresenceFields): Promise<void> {
    const uid = new Types.ObjectId(userId);
    const owner = await this.models.User.findById(uid, { settings: 1 }).lean();
    const visibility = privacyOf(owner?.settings).last_seen_visibility;
    const entries =
      visibility === Visibility.NOBODY
        ? []
        : await this.models.Contact.find(
            { user_id: uid, status: mongoose.trusted({ $in: [ContactStatus.BLOCKED, ContactStatus.ACCEPTED] }) },
            { contact_id: 1, status: 1 },
          ).lean();
    const ids = (status: ContactStatus) => entries.filter((c) => c.status === status).map((c) => c.contact_id.toHexString());
    this.pubSub.publish("PRESENCE", userId, {
      presence: presenceView(userId, doc),
      hiddenFrom: ids(ContactStatus.BLOCKED),
      visibility,
      ...(visibility === Visibility.CONTACTS ? { contacts: ids(ContactStatus.ACCEPTED) } : {}),
    });
  }

  /** Lengths are checked on SetPresenceInput. */
  async set(viewerId: string, input: SetPresenceInput): Promise<PresenceView> {
    const set: Record<string, unknown> = {};
    const unset: Record<string, 1> = {};
    if (input.status) set.status = input.status;
    if (input.customStatus !== undefined) {
      const text = input.customStatus?.trim() ?? "";
      if (text) set.custom_status = text;
      else unset.custom_status = 1;
    }
    if (input.deviceInfo === null) unset.device_info = 1;
    else if (input.deviceInfo) {
      const info: Record<string, string> = {};
      for (const [from, to] of [
        ["deviceType", "device_type"],
        ["appVersion", "app_version"],
        ["platform", "platform"],
      ] as const) {
        const v = input.deviceInfo[from];
        if (v === undefined || v === null) continue;
        info[to] = v;
      }
      set.device_info = info;
    }
    // Without a status the current one stays.
    return this.write(viewerId, set, false, unset);
  }

  /** For loaders: presence documents by user id. */
  async byUserIds(ids: readonly string[]): Promise<Array<PresenceView | null>> {
    const docs = await this.models.Presence.find({ user_id: mongoose.trusted({ $in: validObjectIds(ids) }) }).lean();
    return alignByIds(
      ids,
      docs.map((d) => presenceView(d.user_id.toHexString(), d)),
      (v) => v.userId,
    );
  }

  /** The users a presence query or subscription names, de-duplicated (their count is checked on PresenceArgs). */
  parseUserIds(ids: string[]): Types.ObjectId[] {
    const unique = [...new Set(ids)];
    return unique.map((id) => parseId(id, "userIds"));
  }

  /**
   * Presence of the given users, leaving out unknown ones and those whose lastSeenVisibility
   * does not let the viewer see it (a block always hides it).
   */
  async forUsers(viewerId: string, ids: string[]): Promise<PresenceView[]> {
    const oids = this.parseUserIds(ids);
    const users = await this.models.User.find({ _id: mongoose.trusted({ $in: oids }) }, { last_seen: 1, settings: 1 }).lean();
    const statuses = await this.contacts.statusesTowards(
      viewerId,
      users.map((u) => u._id.toHexString()),
    );
    const visible = users.filter((u, i) =>
      maySee(privacyOf(u.settings).last_seen_visibility, {
        self: u._id.toHexString() === viewerId,
        contact: statuses[i] === ContactStatus.ACCEPTED,
        blocked: statuses[i] === ContactStatus.BLOCKED,
      }),
    );
    const docs = await this.byUserIds(visible.map((u) => u._id.toHexString()));
    return visible.map((u, i) => docs[i] ?? presenceView(u._id.toHexString(), null, u.last_seen));
  }

  /** Whom a presenceChanged subscription follows: the given users or the accepted contacts, minus those who blocked the viewer. */
  async watchList(viewerId: string, ids: string[] | null | undefined): Promise<string[]> {
    const viewer = new Types.ObjectId(viewerId);
    let targets: Types.ObjectId[];
    if (ids) targets = this.parseUserIds(ids);
    else targets = (await this.models.Contact.find({ user_id: viewer, status: ContactStatus.ACCEPTED }, { contact_id: 1 }).lean()).map((c) => c.contact_id);
    const blocked = new Set((await this.contacts.blockedAmong(viewer, targets)).map((b) => b.toHexString()));
    return targets.map((t) => t.toHexString()).filter((t) => t !== viewerId && !blocked.has(t));
  }
}

declare module "../../context.js" {
  interface Services {
    presence: PresenceService;
  }
  interface SharedLoaders {
    /** Stored presence by user id (null: never connected). */
    presence: DataLoader<string, PresenceView | null>;
  }
}
