/** Reading users, with the visibility rules of the contract. */
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../database.js";
import type { User } from "./user.entity.js";

export class UserService {
  constructor(private readonly models: Models) {}

  /** One query for many ids, in the order asked (DataLoader's contract). */
  async findByIds(ids: readonly string[]): Promise<Array<DocumentType<User> | null>> {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id));
    // sanitizeFilter is on: operators the server writes itself are marked trusted.
    const users = await this.models.User.find({ _id: mongoose.trusted({ $in: valid.map((id) => new Types.ObjectId(id)) }) });
    const byId = new Map(users.map((u) => [u._id.toHexString(), u]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async findByUsername(username: string): Promise<DocumentType<User> | null> {
    return this.models.User.findOne({ username }).collation({ locale: "en", strength: 2 });
  }
}
