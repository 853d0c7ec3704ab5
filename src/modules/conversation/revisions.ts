/**
 * The conversation's `rev`: a counter that moves on every change a member can see in it, so
 * `changes(since)` (modules/sync) finds what changed since a cursor by comparing numbers, never
 * by reading history. Sends move it with `last_seq` and stamp each new message with its rev;
 * a change of a message (edit, delete, reaction, hide) stamps the message with the next rev in
 * the SAME transaction as the `$inc`. Two changes of one conversation write the same document,
 * so their transactions commit in rev order (the later one gets a WriteConflict and is re-run):
 * a reader that sees `rev = R` on the conversation therefore finds every change with rev <= R
 * already stored, and nothing with rev <= R can commit after it.
 *
 * Changes that live on the conversation document itself (watermarks, member state, pins,
 * membership) add `$inc: { rev: 1 }` to their own single-document update (`REV_STEP`). Changes
 * stored in other documents that the conversation's view shows (the group's name or admins) are
 * written first and `bump`ed after: a reader between the two sees the old rev, so the change
 * reaches it again with the bump (at least once, never lost).
 *
 * Without transactions (a standalone server) the `$inc` and the message write run one after
 * the other: a reader between them can miss that change (README "Catch-up").
 */
import type mongoose from "mongoose";
import type { Types } from "mongoose";
import type { Database, Models, TxnSession } from "../../common/database.js";

/** Added to a conversation update that is itself the change. */
export const REV_STEP = { rev: 1 } as const;

/** The filter of a stamped update matched nothing: the transaction is undone, no rev is taken. */
class NothingMatched extends Error {}

export class ConversationRevisions {
  constructor(
    private readonly models: Models,
    private readonly db: Pick<Database, "transaction">,
  ) {}

  /** After a change stored outside the conversation document (see the file comment). */
  async bump(conversationId: Types.ObjectId, session?: TxnSession): Promise<void> {
    await this.models.Conversation.updateOne({ _id: conversationId }, { $inc: REV_STEP }, { timestamps: false, session });
  }

  /**
   * `model.findOneAndUpdate(filter, update)` stamped with the conversation's next rev, as one
   * transaction; null when the filter matched nothing (then nothing was written). With
   * `replies`, the messages quoting the changed one are stamped too: their `replyTo` shows its
   * content.
   */
  async updateMessage<T>(
    model: mongoose.Model<T>,
    conversationId: Types.ObjectId,
    filter: Record<string, unknown>,
    update: Record<string, unknown> & { $set?: Record<string, unknown> },
    options: mongoose.QueryOptions & { replies?: boolean } = {},
  ): Promise<mongoose.HydratedDocument<T> | null> {
    const { replies, ...queryOptions } = options;
    try {
      return await this.db.transaction(async (session) => {
        const rev = await this.next(conversationId, session);
        const stamped = { ...update, $set: { ...update.$set, rev } };
        const doc = (await model.findOneAndUpdate(filter, stamped, {
          returnDocument: "after",
          ...queryOptions,
          session,
        })) as mongoose.HydratedDocument<T> | null;
        if (!doc) throw new NothingMatched();
        if (replies) await model.updateMany({ reply_to: doc._id as Types.ObjectId }, { $set: { rev } }, { timestamps: false, session });
        return doc;
      });
    } catch (err) {
      if (err instanceof NothingMatched) return null;
      throw err;
    }
  }

  /** The conversation's next rev (the `$inc` that orders this change against the others). */
  private async next(conversationId: Types.ObjectId, session: TxnSession): Promise<number> {
    const conv = await this.models.Conversation.findOneAndUpdate(
      { _id: conversationId },
      { $inc: REV_STEP },
      { projection: { rev: 1 }, returnDocument: "after", timestamps: false, session },
    ).lean();
    // A message's conversation is never deleted; were it gone, the change has nowhere to go.
    if (!conv) throw new NothingMatched();
    return conv.rev;
  }
}
