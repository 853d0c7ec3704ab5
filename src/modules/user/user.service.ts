/** Reading users, with the visibility rules of the contract. */
import type DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import type { User } from "./user.entity.js";
import { paginate, type Connection, type PageArgs } from "../../common/connection.js";
import { alignByIds, validObjectIds } from "../../common/ids.js";
import { findEntities, type Entity } from "../../common/lean.js";

/** How stale `last_seen` may get before an authenticated request refreshes it. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

export class UserService {
  /** When this instance last wrote each user's last_seen (bounded: entries older than the resolution are dropped). */
  private readonly touched = new Map<string, number>();

  constructor(private readonly models: Models) {}

  /**
   * Keeps `last_seen` current for an active user: at most one write per user per minute per
   * instance, off the request's path (a failed write is retried on a later request).
   */
  touch(userId: string, now = Date.now()): void {
    const last = this.touched.get(userId);
    if (last !== undefined && now - last < LAST_SEEN_RESOLUTION_MS) return;
    if (this.touched.size > 50_000) {
      for (const [id, at] of this.touched) if (now - at >= LAST_SEEN_RESOLUTION_MS) this.touched.delete(id);
    }
    this.touched.set(userId, now);
    this.models.User.updateOne({ _id: new Types.ObjectId(userId) }, { $set: { last_seen: new Date(now) } }).catch(() => this.touched.delete(userId));
  }

  /** One query for many ids, in the order asked (DataLoader's contract). */
  /** Plain objects (the user loader's read: resolvers only read fields, see common/lean.ts). */
  async findByIds(ids: readonly string[]): Promise<Array<Entity<User> | null>> {
    // sanitizeFilter is on: operators the server writes itself are marked trusted.
    const users = await findEntities(this.models.User, { _id: { $in: validObjectIds(ids) } });
    return alignByIds(ids, users, (u) => u._id.toHexString());
  }

  /**
   * Prefix match on username and full name (index `search_keys`), leaving out inactive users
   * and the users in `exclude` (those who blocked the viewer). The query's length is checked
   * on SearchUsersArgs.
   */
  search(query: string, exclude: Types.ObjectId[], page: PageArgs): Promise<Connection<DocumentType<User>>> {
    const q = query.trim().toLowerCase();
    const prefix = new RegExp("^" + q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const filter: Record<string, unknown> = { search_keys: prefix, is_active: true };
    if (exclude.length) filter._id = mongoose.trusted({ $nin: exclude });
    return paginate(this.models.User, filter, [["_id", 1]], page, 20) as Promise<Connection<DocumentType<User>>>;
  }

  async findByUsername(username: string): Promise<DocumentType<User> | null> {
    return this.models.User.findOne({ username }).collation({ locale: "en", strength: 2 });
  }
}

declare module "../../context.js" {
  interface Services {
    users: UserService;
  }
  interface SharedLoaders {
    user: DataLoader<string, Entity<User> | null>;
  }
}
