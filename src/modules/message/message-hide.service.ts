/**
 * Hide for me: a member takes a message out of their own history pages (and search); everyone
 * else still sees it. Stored as the viewer's id in the message's `hidden_for` (never shown), so
 * history paging stays one range read (MessageService.history, notHiddenFor).
 *
 * Rights: anyone who can read the message, i.e. a member of its conversation; others get the
 * same NOT_FOUND as reading it. Nothing is published: the change concerns the viewer alone and
 * its result is the mutation's answer; the viewer's other devices learn it from changes(since).
 *
 * Limit: hiding is idempotent ($addToSet), so one user adds at most one entry per message, and
 * a message's list holds at most HIDDEN_FOR_CAP users (past it, a hide is refused).
 */
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../common/database.js";
import { forbidden } from "../../errors.js";
import { MAX_GROUP_MEMBERS } from "../group/group.entity.js";
import type { ConversationRevisions } from "../conversation/revisions.js";
import type { AnyMessage, MessageService } from "./message.service.js";

/** Users a message may be hidden for: every member of the largest group, twice over (members come and go). */
export const HIDDEN_FOR_CAP = 2 * MAX_GROUP_MEMBERS;

export class MessageHideService {
  constructor(
    private readonly models: Models,
    private readonly messages: MessageService,
    private readonly guard: Pick<AbuseGuard, "memberAction">,
    private readonly revisions: ConversationRevisions,
  ) {}

  async hide(viewerId: string, id: string): Promise<boolean> {
    const { message, model } = await this.readable(viewerId, id);
    const me = new Types.ObjectId(viewerId);
    if (message.hidden_for?.some((u) => u.equals(me))) return true;
    // The cap is part of the filter: a full list is not written past it, whatever races.
    // Stamped with the conversation's rev, so the viewer's other devices learn it from changes(since).
    const hidden = await this.revisions.updateMessage(
      model,
      message.conversation_id,
      { _id: message._id, [`hidden_for.${HIDDEN_FOR_CAP - 1}`]: mongoose.trusted({ $exists: false }) },
      { $addToSet: { hidden_for: me } },
      // Per viewer: the message itself did not change for anyone else.
      { timestamps: false },
    );
    if (!hidden) throw forbidden(`A message can be hidden by at most ${HIDDEN_FOR_CAP} users`);
    return true;
  }

  async unhide(viewerId: string, id: string): Promise<boolean> {
    const { message, model } = await this.readable(viewerId, id);
    const me = new Types.ObjectId(viewerId);
    // Only when hidden: unhiding again changes nothing, so it takes no rev.
    await this.revisions.updateMessage(
      model,
      message.conversation_id,
      { _id: message._id, hidden_for: me },
      { $pull: { hidden_for: me } },
      { timestamps: false },
    );
    return true;
  }

  private async readable(viewerId: string, id: string): Promise<{ message: AnyMessage; model: mongoose.Model<AnyMessage> }> {
    const { message } = await this.messages.findReadable(viewerId, id, "messageId");
    await this.guard.memberAction(viewerId);
    const model = ("group_id" in message && message.group_id ? this.models.GroupMessage : this.models.DirectMessage) as mongoose.Model<AnyMessage>;
    return { message, model };
  }
}

declare module "../../context.js" {
  interface Services {
    messageHides: MessageHideService;
  }
}
