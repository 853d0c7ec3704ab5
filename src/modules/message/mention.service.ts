/**
 * Mentions (issue 15): `mentions` on a send (members of the conversation only, at most
 * MAX_MENTIONS, else BAD_USER_INPUT naming mentions), stored on the message, and per member
 * `unreadMentionCount`: the messages from others after the member's read watermark that
 * mention them, muted or not. Watermark-based like unreadCount: the read mark is the
 * conversation snapshot's, and the count is one indexed query ({mentions, conversation_id,
 * seq}) per message collection for all the conversations a request (or event) asks about,
 * batched by the viewer's loader; it never keeps a counter that could drift.
 */
import DataLoader from "dataloader";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { parseId } from "../../common/ids.js";
import { badInput } from "../../errors.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type { ReplyScope } from "./reply.js";

/** The mentioned users, once each, when they are all members of the conversation the send goes to. */
export async function mentionTargets(models: Models, scope: ReplyScope, ids: readonly string[]): Promise<Types.ObjectId[]> {
  const unique = [...new Set(ids.map((id) => parseId(id, "mentions").toHexString()))].map((id) => new Types.ObjectId(id));
  const members =
    scope.kind === "direct"
      ? unique.every((u) => scope.users.some((m) => m.equals(u)))
      : Boolean(await models.Group.exists({ _id: scope.groupId, members: mongoose.trusted({ $all: unique }) }));
  if (!members) throw badInput([{ field: "mentions", message: "mentions must list members of the conversation" }]);
  return unique;
}

export class MentionService {
  constructor(private readonly models: Models) {}

  /** Per conversation (in order): its messages from others after the viewer's read mark that mention the viewer. */
  async unreadCounts(viewerId: string, convs: readonly ConversationSnapshot[]): Promise<number[]> {
    const viewer = new Types.ObjectId(viewerId);
    const counts = new Map<string, number>();
    for (const kind of ["direct", "group"] as const) {
      const mine = convs.filter((c) => c.kind === kind);
      if (!mine.length) continue;
      const after = mine.map((c) => ({
        conversation_id: new Types.ObjectId(c.id),
        seq: { $gt: c.members.find((m) => m.userId === viewerId)?.readSeq ?? 0 },
      }));
      const model = kind === "group" ? this.models.GroupMessage : this.models.DirectMessage;
      const rows = await (model as mongoose.Model<unknown>).aggregate<{ _id: Types.ObjectId; n: number }>([
        { $match: { mentions: viewer, is_deleted: false, sender_id: { $ne: viewer }, $or: after } },
        { $group: { _id: "$conversation_id", n: { $sum: 1 } } },
      ]);
      for (const r of rows) counts.set(r._id.toHexString(), r.n);
    }
    return convs.map((c) => counts.get(c.id) ?? 0);
  }

  /** The viewer's loader: conversations are keyed by id and read mark, so a moved mark is counted anew. */
  loader(viewerId: string | null): DataLoader<ConversationSnapshot, number, string> {
    return new DataLoader(async (convs: readonly ConversationSnapshot[]) => (viewerId ? this.unreadCounts(viewerId, convs) : convs.map(() => 0)), {
      cacheKeyFn: (c) => `${c.id}:${c.members.find((m) => m.userId === viewerId)?.readSeq ?? 0}`,
    });
  }
}

declare module "../../context.js" {
  interface Services {
    mentions: MentionService;
  }
  interface ViewerLoaders {
    unreadMentions: DataLoader<ConversationSnapshot, number, string>;
  }
}
