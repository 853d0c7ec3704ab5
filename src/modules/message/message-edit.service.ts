/**
 * Editing a message: the sender only, not once deleted, within MESSAGE_EDIT_WINDOW_SECONDS of
 * sending when set. Each edit keeps the content it replaces in `edit_history` (oldest first,
 * the last EDIT_HISTORY_CAP), so `Message.editHistory` comes from the message itself and the
 * `message.updated` event carries it: no read per subscriber.
 */
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type mongoose from "mongoose";
import type { Models } from "../../common/database.js";
import { AppError, ErrorCode, forbidden } from "../../errors.js";
import type { ConversationRevisions } from "../conversation/revisions.js";
import type { AnyMessage, MessageService } from "./message.service.js";
import type { MessageView } from "./message.view.js";

/** Earlier contents kept per message: 20 × MAX_CONTENT (10,000) bounds a message near 200 KB. */
export const EDIT_HISTORY_CAP = 20;

/** Concurrent edits of one message by its sender: how often an edit re-reads after losing a race. */
const EDIT_ATTEMPTS = 5;

export interface EditRules {
  /** Seconds after sending during which the sender may edit; null: no limit. */
  windowSeconds: number | null;
}

export class MessageEditService {
  constructor(
    private readonly models: Models,
    private readonly messages: MessageService,
    private readonly rules: EditRules,
    private readonly guard: Pick<AbuseGuard, "memberAction">,
    private readonly revisions: ConversationRevisions,
  ) {}

  async edit(viewerId: string, id: string, content: string): Promise<MessageView> {
    await this.guard.memberAction(viewerId);
    for (let attempt = 1; ; attempt++) {
      const { message } = await this.messages.findReadable(viewerId, id);
      if (message.sender_id.toHexString() !== viewerId) throw forbidden("Only the sender can edit a message");
      if (message.is_deleted) throw forbidden("A deleted message cannot be edited");
      this.checkWindow(message);
      const model = ("group_id" in message && message.group_id ? this.models.GroupMessage : this.models.DirectMessage) as mongoose.Model<AnyMessage>;
      const replaced = { content: message.content, at: message.edited_at ?? message.created_at };
      // Conditional on the content and edit time just read: the entry pushed is exactly the
      // content this edit replaces, even when two edits of the same message race.
      // Stamped with the conversation's next rev, replies too: their replyTo shows this content.
      const updated = await this.revisions.updateMessage(
        model,
        message.conversation_id,
        { _id: message._id, is_deleted: false, content: message.content, edited_at: message.edited_at ?? null },
        { $set: { content, edited_at: new Date() }, $push: { edit_history: { $each: [replaced], $slice: -EDIT_HISTORY_CAP } } },
        { replies: true },
      );
      if (updated) return this.messages.publishUpdate(updated);
      if (attempt >= EDIT_ATTEMPTS) throw new AppError(ErrorCode.CONFLICT, "The message changed while it was being edited; try again");
    }
  }

  /** FORBIDDEN once the edit window (counted from the message's creation) has passed. */
  private checkWindow(message: AnyMessage): void {
    const { windowSeconds } = this.rules;
    if (windowSeconds === null) return;
    if (Date.now() - new Date(message.created_at).getTime() > windowSeconds * 1000) {
      throw forbidden(`Messages can only be edited within ${windowSeconds} seconds of sending`);
    }
  }
}

declare module "../../context.js" {
  interface Services {
    messageEdits: MessageEditService;
  }
}
