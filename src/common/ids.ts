/** ID arguments: a malformed id is BAD_USER_INPUT, never a database error. */
import { Types } from "mongoose";
import { badInput } from "../errors.js";

export function parseId(value: string, field = "id"): Types.ObjectId {
  if (!/^[0-9a-fA-F]{24}$/.test(value)) throw badInput([{ field, message: `${field} must be a 24-character hex ObjectId` }]);
  return new Types.ObjectId(value);
}

/** For loader batches: the requested ids that are ObjectIds (a loader may be asked for anything). */
export function validObjectIds(ids: readonly string[]): Types.ObjectId[] {
  return ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
}

/** DataLoader's contract: one result per requested id, in the order asked, null where nothing matched. */
export function alignByIds<T>(ids: readonly string[], items: readonly T[], keyOf: (item: T) => string): Array<T | null> {
  const byKey = new Map(items.map((item) => [keyOf(item), item]));
  return ids.map((id) => byKey.get(id) ?? null);
}
