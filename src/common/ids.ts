/** ID arguments: a malformed id is BAD_USER_INPUT, never a database error. */
import { Types } from "mongoose";
import { badInput } from "../errors.js";

export function parseId(value: string, field = "id"): Types.ObjectId {
  if (!/^[0-9a-fA-F]{24}$/.test(value)) throw badInput([{ field, message: `${field} must be a 24-character hex ObjectId` }]);
  return new Types.ObjectId(value);
}
