/**
 * The rule of `replyToId` on a send: the quoted message must be in the same conversation
 * (else BAD_USER_INPUT naming replyToId, the same answer for an unknown id, so nothing about
 * other conversations is revealed). Checked by id and conversation in one indexed read, before
 * the send's limits and its transaction; the send then stores only the id (`reply_to`), and
 * `replyTo` is resolved through the message loader (a later delete shows as a tombstone).
 */
import mongoose, { type Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { parseId } from "../../common/ids.js";
import { badInput } from "../../errors.js";

/** A direct conversation is known by its two users (it may not exist yet), a group's by the group. */
export type ReplyScope = { kind: "direct"; users: [Types.ObjectId, Types.ObjectId] } | { kind: "group"; groupId: Types.ObjectId };

export async function replyTarget(models: Models, scope: ReplyScope, replyToId: string): Promise<Types.ObjectId> {
  const id = parseId(replyToId, "replyToId");
  // A direct message's sender and recipient differ, so both in the pair means this pair's conversation.
  const found =
    scope.kind === "group"
      ? await models.GroupMessage.exists({ _id: id, group_id: scope.groupId })
      : await models.DirectMessage.exists({ _id: id, sender_id: mongoose.trusted({ $in: scope.users }), recipient_id: mongoose.trusted({ $in: scope.users }) });
  if (!found) throw badInput([{ field: "replyToId", message: "replyToId must be a message of the same conversation" }]);
  return id;
}
