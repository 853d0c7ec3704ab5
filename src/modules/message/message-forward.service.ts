/**
 * Forwarding: a copy of a message the viewer can read (content, type and attachment), marked
 * `forwarded`, sent through the ordinary send path (MessageService.sendDirect / sendGroup), so
 * every rule of a send holds: the target's rights (blocks, inactive users, group membership),
 * the stranger and message rate limits, the clientMessageId retry answer, and the one
 * transaction that takes the seq.
 *
 * The source is read inside the send's Compose step, after the retry lookup: a retry of a
 * forward that committed is answered with it even if the source was deleted meanwhile.
 * Attachment access follows the new message: MediaService lets anyone who can read a live
 * message carrying an upload download it, so the target's members can.
 */
import type { Models } from "../../common/database.js";
import { badInput, forbidden, notFound } from "../../errors.js";
import { parseId } from "../../common/ids.js";
import type { AnyMessage, Compose, Draft, MessageService } from "./message.service.js";
import type { MessageView } from "./message.view.js";
import type { ForwardMessageArgs } from "./message-forward.args.js";

export class MessageForwardService {
  constructor(
    private readonly models: Models,
    private readonly messages: MessageService,
  ) {}

  async forward(viewerId: string, { messageId, recipientId, groupId, clientMessageId }: ForwardMessageArgs): Promise<MessageView> {
    parseId(messageId, "messageId"); // a malformed id is refused before any limit is spent
    const compose: Compose = () => this.copyOf(viewerId, messageId, clientMessageId);
    if (recipientId && !groupId) return this.messages.sendDirect(viewerId, { recipientId, clientMessageId }, compose);
    if (groupId && !recipientId) return this.messages.sendGroup(viewerId, { groupId, clientMessageId }, compose);
    // ForwardMessageArgs already refuses this; kept for callers that skip validation.
    throw badInput([{ field: recipientId ? "groupId" : "recipientId", message: "give exactly one of recipientId and groupId" }]);
  }

  /** The new message's Draft: the source as the viewer may read it, with a live attachment. */
  private async copyOf(viewerId: string, messageId: string, clientMessageId: string | null | undefined): Promise<Draft> {
    const { message } = await this.messages.findReadable(viewerId, messageId, "messageId");
    if (message.is_deleted) throw forbidden("A deleted message cannot be forwarded");
    return {
      content: message.content,
      message_type: message.message_type,
      attachment: await this.liveAttachment(message),
      forwarded: true,
      ...(clientMessageId ? { client_message_id: clientMessageId } : {}),
    };
  }

  /** The source's attachment, unless its upload was deleted (then there is nothing to forward). */
  private async liveAttachment(message: AnyMessage): Promise<Draft["attachment"]> {
    const { media_id, file_id } = message.attachment ?? {};
    if (media_id) {
      if (!(await this.models.Media.exists({ _id: media_id, is_deleted: false }))) throw notFound("Attachment");
      return { media_id };
    }
    if (file_id) {
      if (!(await this.models.File.exists({ _id: file_id, is_deleted: false }))) throw notFound("Attachment");
      return { file_id };
    }
    return null;
  }
}

declare module "../../context.js" {
  interface Services {
    messageForwards: MessageForwardService;
  }
}
