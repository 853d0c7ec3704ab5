/**
 * How one user's contact entry stands towards another. The enum lives with users, not with
 * contacts, because privacy (visibility.ts) decides by it and the user feature sits below the
 * contact feature; contact.entity.ts re-exports it for the contact feature's readers.
 */
import { registerEnumType } from "type-graphql";

export enum ContactStatus {
  PENDING = "pending",
  ACCEPTED = "accepted",
  BLOCKED = "blocked",
}
registerEnumType(ContactStatus, { name: "ContactStatus" });
