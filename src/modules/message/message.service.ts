/**
 * Sending, editing, deleting, history and search of messages.
 *
 * Order and idempotency (README "Order and delivery"), in few database commands (bench:load,
 * send-commands.test.ts): the sender (with the recipient, for a direct message) in one read,
 * the rule read (contacts both ways, or the group's membership), then in ONE transaction when
 * the database has them (see Database.transactions): one findOneAndUpdate `$inc`s the
 * conversation's `last_seq` (allocating the seq, with rev and last_message_id) and returns the
 * conversation the event carries, the message is inserted (not read back) under the unique
 * (conversation_id, seq) and (sender_id, client_message_id) indexes, the attachment is
 * back-linked and the sender's own marks move to the seq. Any failure aborts all of it, the seq
 * included, so seqs are gap-free: `last_seq >= N` committed means message N exists. A retry of a
 * stored message fails on the unique index (or on a rule or limit) and only then is the stored
 * message looked up and answered (`orStored`): no lookup on an ordinary send. Sends of one
 * conversation run one batch at a time in this instance (KeyedBatcher): only other instances
 * conflict (WriteConflict, retried by withTransaction), and the sends that queued behind one
 * transaction commit together in the next (storeBatch).
 *
 * Without transactions (a standalone server) the same writes run one by one; a failure after the
 * `$inc` gives the seq back when still last, else fills it with a deleted placeholder (see
 * `release`). Only a crash in between can leave a hole there. Events are published after commit.
 */
import type DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Database, Models, TxnSession } from "../../common/database.js";
import { KeyedBatcher } from "../../common/keyed-batch.js";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { validatePage, type Connection, type PageArgs, paginate } from "../../common/connection.js";
import { type Entity, findEntities, insertEntities } from "../../common/lean.js";
import { decodeCursor, encodeCursor } from "../../common/cursor.js";
import type { AppPubSub } from "../../pubsub.js";
import type { ConversationTopics } from "../conversation/conversation.events.js";
import type {} from "./message.events.js";
import type { ConversationService } from "../conversation/conversation.service.js";
import { snapshotOf } from "../conversation/conversation.view.js";
import { type Conversation, directKey } from "../conversation/conversation.entity.js";
import type { ConversationRevisions } from "../conversation/revisions.js";
import type { ContactService } from "../contact/contact.service.js";
import { ContactStatus } from "../contact/contact.entity.js";
import type { AbuseGuard } from "../../auth/abuse-limits.js";
import type { User } from "../user/user.entity.js";
import { MediaType } from "../media/media.entity.js";
import { MessageKind, type DirectMessage, type GroupMessageDoc } from "./message.entity.js";
import { type MessageView, messageView } from "./message.view.js";
import { MessageType } from "../conversation/chat-message.type.js";
import type { SendGroupMessageInput, SendMessageInput } from "./message.input.js";
import { replyTarget } from "./reply.js";
import { mentionTargets } from "./mention.service.js";

const MEDIA_KIND_FOR: Partial<Record<MessageType, MediaType>> = {
  [MessageType.IMAGE]: MediaType.IMAGE,
  [MessageType.AUDIO]: MediaType.AUDIO,
  [MessageType.VIDEO]: MediaType.VIDEO,
};

/** What a send stores besides the conversation's fields (see `draft`, and message-forward.service.ts). */
export interface Draft {
  content: string;
  message_type: MessageKind;
  attachment: { media_id?: Types.ObjectId; file_id?: Types.ObjectId } | null;
  client_message_id?: string;
  forwarded?: true;
  /** The quoted message (replyToId), checked by replyTarget. */
  reply_to?: Types.ObjectId;
  /** Mentioned users (input mentions), checked by mentionTargets. */
  mentions?: Types.ObjectId[];
}

/**
 * Makes a send's Draft once its rights and limits have passed: by default from the send's
 * input; forwardMessage passes its own (the source message's content and attachment).
 */
export type Compose = (senderId: Types.ObjectId) => Promise<Draft>;

export type AnyMessage = DocumentType<DirectMessage> | DocumentType<GroupMessageDoc>;

/** Where a send's conversation is: a group's by its _id, a direct one by its key (made by its first message). */
type Target = { kind: "group"; _id: Types.ObjectId } | { kind: "direct"; key: string; users: [Types.ObjectId, Types.ObjectId] };

/** What a send's writes produced: the new message, its seq, and the conversation after the allocation. */
interface Stored {
  message: AnyMessage;
  seq: number;
  conversation: Conversation;
}

/** One send waiting for its conversation's turn (see KeyedBatcher). */
interface SendJob {
  target: Target;
  sender: Entity<User>;
  draft: Draft;
  model: mongoose.Model<AnyMessage>;
  fields: (seq: number, conversationId: Types.ObjectId) => Record<string, unknown>;
  sharesRead: boolean;
}

/** Most messages of one conversation committed in one transaction. */
const MAX_SEND_BATCH = 50;

/** Without transactions: a send failed after taking `seq` (the failure is `cause`). */
class SeqTaken extends Error {
  constructor(
    readonly seq: number,
    readonly id: Types.ObjectId,
    readonly conversationId: Types.ObjectId,
    override readonly cause: unknown,
  ) {
    super("send failed after its seq was allocated");
  }
}

/** A direct conversation's first message: the conversation is made, then the send runs again. */
class NoConversation extends Error {
  constructor() {
    super("the direct conversation does not exist yet");
  }
}

/**
 * The update pipeline of a transactional allocation (see MessageService.allocate): `sent` take
 * the seqs after the current last_seq in order; each sender's marks move to their last one.
 */
function allocationPipeline(sent: SendJob[], lastId: Types.ObjectId): Array<Record<string, unknown>> {
  const last = new Map<string, { job: SendJob; offset: number }>();
  sent.forEach((job, i) => last.set(job.sender._id.toHexString(), { job, offset: i + 1 }));
  const branches = [...last.values()].map(({ job, offset }) => {
    const seq = { $add: ["$last_seq", offset] };
    const marks: Record<string, unknown> = { read_seq: { $max: ["$$m.read_seq", seq] }, delivered_seq: { $max: ["$$m.delivered_seq", seq] } };
    if (job.sharesRead) marks.shared_read_seq = { $max: ["$$m.shared_read_seq", seq] };
    return { case: { $eq: ["$$m.user_id", job.sender._id] }, then: { $mergeObjects: ["$$m", marks] } };
  });
  return [
    {
      // Every expression of one $set stage reads the document as it was before the stage.
      $set: {
        // rev moves with last_seq: each new message is one change (conversation/revisions.ts).
        last_seq: { $add: ["$last_seq", sent.length] },
        rev: { $add: [{ $ifNull: ["$rev", 0] }, sent.length] },
        last_message_id: lastId,
        members: { $map: { input: "$members", as: "m", in: { $switch: { branches, default: "$$m" } } } },
      },
    },
  ];
}

/**
 * The filter that leaves out messages the viewer hid. No index on `hidden_for`: a `$ne` on it
 * cannot narrow an index range anyway (a multikey index would serve `$eq`, not its negation),
 * so it is checked on the documents the (conversation_id, seq) range returns; a page then reads
 * its size plus the viewer's hidden messages inside it.
 */
export function notHiddenFor(viewerId: string): Record<string, unknown> {
  return { hidden_for: mongoose.trusted({ $ne: new Types.ObjectId(viewerId) }) };
}

export class MessageService {
  constructor(
    private readonly models: Models,
    private readonly conversations: ConversationService,
    private readonly contacts: ContactService,
    private readonly pubSub: AppPubSub<ConversationTopics>,
    private readonly guard: AbuseGuard,
    private readonly db: Pick<Database, "transaction" | "transactions">,
    private readonly revisions: ConversationRevisions,
    /** Failures that do not reach a caller (a batch retried one by one, a lost placeholder). */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Sends of one conversation, one batch at a time in this instance (entries live while busy). */
  private readonly sendQueue = new KeyedBatcher<SendJob, Stored>((jobs) => this.storeBatch(jobs), MAX_SEND_BATCH);

  /** Rules between fields of SendMessageInput (lengths are on the input), and the attachment: the sender's own upload of a fitting kind. */
  private async draft(senderId: Types.ObjectId, input: SendMessageInput | SendGroupMessageInput): Promise<Draft> {
    const type = (input.messageType ?? MessageType.TEXT) as MessageType;
    const content = input.content ?? "";
    const fields: Array<{ field: string; message: string }> = [];
    if (type === MessageType.TEXT && content.trim().length === 0) fields.push({ field: "content", message: "a TEXT message needs content" });
    if (type === MessageType.TEXT && input.attachmentId) fields.push({ field: "attachmentId", message: "a TEXT message has no attachment" });
    if (type !== MessageType.TEXT && !input.attachmentId) fields.push({ field: "attachmentId", message: `a ${type} message needs an attachment` });
    if (fields.length) throw badInput(fields);
    let attachment: Draft["attachment"] = null;
    if (input.attachmentId) {
      const id = parseId(input.attachmentId, "attachmentId");
      if (type === MessageType.DOCUMENT) {
        const file = await this.models.File.findOne({ _id: id, uploader_id: senderId, is_deleted: false });
        if (!file) throw notFound("Attachment");
        attachment = { file_id: file._id };
      } else {
        const media = await this.models.Media.findOne({ _id: id, uploader_id: senderId, is_deleted: false });
        if (!media) throw notFound("Attachment");
        if (media.media_type !== MEDIA_KIND_FOR[type])
          throw badInput([{ field: "attachmentId", message: `the attachment is ${media.media_type}, not ${type.toLowerCase()}` }]);
        attachment = { media_id: media._id };
      }
    }
    return {
      content,
      message_type: type.toLowerCase() as MessageKind,
      attachment,
      ...(input.clientMessageId ? { client_message_id: input.clientMessageId } : {}),
    };
  }

  /** Seed 004's back-reference from an upload to the (first) message carrying it. */
  private async linkAttachment(
    attachment: NonNullable<Draft["attachment"]>,
    kind: Conversation["kind"],
    messageId: Types.ObjectId,
    session: TxnSession,
  ): Promise<void> {
    const field = kind === "group" ? "group_message_id" : "message_id";
    const unlinked = { message_id: mongoose.trusted({ $exists: false }), group_message_id: mongoose.trusted({ $exists: false }) };
    if (attachment.media_id) await this.models.Media.updateOne({ _id: attachment.media_id, ...unlinked }, { $set: { [field]: messageId } }, { session });
    if (attachment.file_id) await this.models.File.updateOne({ _id: attachment.file_id, ...unlinked }, { $set: { [field]: messageId } }, { session });
  }

  private async sender(viewerId: string): Promise<Entity<User>> {
    // Through the driver, as a plain entity (common/lean.ts): a send only reads the sender.
    const [user] = await findEntities(this.models.User, { _id: new Types.ObjectId(viewerId) }, { limit: 1 });
    if (!user || !user.is_active) throw forbidden("Your account is not active");
    return user;
  }

  /** Ephemeral typing, rate limited: published on the conversation's topic, nothing stored. */
  async publishTyping(viewerId: string, conversationId: string, isTyping: boolean): Promise<void> {
    await this.guard.typing(viewerId);
    this.pubSub.publish("CONVERSATION", conversationId, { type: "typing", typing: { conversationId, userId: viewerId, isTyping } });
  }

  async sendDirect(viewerId: string, input: SendMessageInput, compose: Compose = (senderId) => this.draft(senderId, input)): Promise<MessageView> {
    const recipientId = parseId(input.recipientId, "recipientId");
    // Sender and recipient in one read.
    const users = await findEntities(this.models.User, { _id: { $in: [new Types.ObjectId(viewerId), recipientId] } });
    const sender = users.find((u) => u._id.toHexString() === viewerId);
    if (!sender || !sender.is_active) throw forbidden("Your account is not active");
    if (recipientId.equals(sender._id)) throw badInput([{ field: "recipientId", message: "you cannot message yourself" }]);
    const model = this.models.DirectMessage as unknown as mongoose.Model<AnyMessage>;
    // A retry of a stored message is answered (and its event published again) whatever the checks below say.
    return this.orStored(model, sender, input.clientMessageId, async () => {
      const recipient = users.find((u) => u._id.equals(recipientId));
      if (!recipient) throw notFound("User");
      if (!recipient.is_active) throw forbidden("This user is not active");
      // Blocks both ways and the recipient's entry about the sender, in one read.
      const between = await this.contacts.between(sender._id, recipientId);
      if (between.blocked) throw new AppError(ErrorCode.BLOCKED, "One of you has blocked the other");
      const replyTo = input.replyToId ? await replyTarget(this.models, { kind: "direct", users: [sender._id, recipientId] }, input.replyToId) : undefined;
      const mentions = input.mentions?.length
        ? await mentionTargets(this.models, { kind: "direct", users: [sender._id, recipientId] }, input.mentions)
        : undefined;
      // A stranger (someone the recipient has not accepted as a contact) gets a tighter budget per conversation.
      if (between.theirs !== ContactStatus.ACCEPTED) await this.guard.strangerMessage(viewerId, recipientId.toHexString());
      await this.guard.message(viewerId);
      const draft = { ...(await compose(sender._id)), ...(replyTo ? { reply_to: replyTo } : {}), ...(mentions ? { mentions } : {}) };
      const target: Target = { kind: "direct", key: directKey(viewerId, recipientId.toHexString()), users: [sender._id, recipientId] };
      return this.commit(target, sender, draft, model, (seq, conversationId) => ({
        conversation_id: conversationId,
        seq,
        sender_id: sender._id,
        recipient_id: recipientId,
        status: "sent",
        is_deleted: false,
      }));
    });
  }

  async sendGroup(viewerId: string, input: SendGroupMessageInput, compose: Compose = (senderId) => this.draft(senderId, input)): Promise<MessageView> {
    const sender = await this.sender(viewerId);
    const groupId = parseId(input.groupId, "groupId");
    const model = this.models.GroupMessage as unknown as mongoose.Model<AnyMessage>;
    return this.orStored(model, sender, input.clientMessageId, async () => {
      // Membership by query, not by loading the member list (up to 1,024 ids).
      const group = await this.models.Group.findOne({ _id: groupId, members: sender._id }, { is_active: 1 }).lean();
      // Unknown and not-a-member answer alike (existence is not revealed).
      if (!group) throw notFound("Group");
      if (!group.is_active) throw forbidden("This group is deactivated");
      const replyTo = input.replyToId ? await replyTarget(this.models, { kind: "group", groupId }, input.replyToId) : undefined;
      const mentions = input.mentions?.length ? await mentionTargets(this.models, { kind: "group", groupId }, input.mentions) : undefined;
      await this.guard.message(viewerId);
      const draft = { ...(await compose(sender._id)), ...(replyTo ? { reply_to: replyTo } : {}), ...(mentions ? { mentions } : {}) };
      return this.commit({ kind: "group", _id: groupId }, sender, draft, model, (seq, conversationId) => ({
        conversation_id: conversationId,
        group_id: groupId,
        seq,
        sender_id: sender._id,
        read_by: [],
        is_deleted: false,
      }));
    });
  }

  /**
   * Idempotency without a lookup on every send: `send` runs, and only when it fails — the
   * unique (sender, clientMessageId) index refusing a second copy (11000), or any rule or limit
   * refusing a retry whose first attempt got through — is the stored message looked up. If
   * there is one, the retry is answered with it and its `message.added` published again: if
   * the first attempt's instance died between commit and publish, live subscribers still get
   * it (they drop seqs they already have). Otherwise the failure stands.
   */
  private async orStored(
    model: mongoose.Model<AnyMessage>,
    sender: Entity<User>,
    clientMessageId: string | null | undefined,
    send: () => Promise<MessageView>,
  ): Promise<MessageView> {
    try {
      return await send();
    } catch (err) {
      if (!clientMessageId || !(err instanceof AppError || (err as { code?: number }).code === 11000)) throw err;
      const stored = await model.findOne({ sender_id: sender._id, client_message_id: clientMessageId });
      if (!stored) throw err;
      return this.republish(stored, sender);
    }
  }

  private async republish(message: AnyMessage, sender: Entity<User>): Promise<MessageView> {
    const view = messageView(message, sender);
    const snapshot = await this.conversations.snapshot(message.conversation_id);
    if (snapshot) this.pubSub.publish("CONVERSATION", view.conversationId, { type: "message.added", message: view, conversation: snapshot });
    return view;
  }

  /**
   * Stores the message and publishes it. Sends of one conversation run one batch at a time in
   * this instance (see KeyedBatcher and storeBatch). The event's conversation snapshot is the
   * conversation as the seq allocation returned it (no read before or after), with the marks
   * of this message's sender and its own seq as last.
   */
  private async commit(
    target: Target,
    sender: Entity<User>,
    draft: Draft,
    model: mongoose.Model<AnyMessage>,
    fields: (seq: number, conversationId: Types.ObjectId) => Record<string, unknown>,
  ): Promise<MessageView> {
    const sharesRead = sender.settings?.read_receipts_enabled !== false;
    const key = target.kind === "group" ? target._id.toHexString() : target.key;
    const { message, seq, conversation } = await this.sendQueue.run(key, { target, sender, draft, model, fields, sharesRead });
    const snapshot = snapshotOf(conversation);
    snapshot.lastSeq = seq;
    snapshot.lastMessageId = message._id.toHexString();
    const me = snapshot.members.find((m) => m.userId === sender._id.toHexString());
    if (me) {
      me.readSeq = Math.max(me.readSeq, seq);
      me.deliveredSeq = Math.max(me.deliveredSeq, seq);
      if (sharesRead) me.sharedReadSeq = Math.max(me.sharedReadSeq, seq);
    }
    const view = messageView(message, sender);
    this.pubSub.publish("CONVERSATION", view.conversationId, { type: "message.added", message: view, conversation: snapshot });
    return view;
  }

  /**
   * The sends that queued up behind the previous transaction of a conversation. With
   * transactions, several commit as one: one `$inc` by their number, their inserts in order,
   * their back-links and each sender's marks, all or nothing. If that fails (one duplicate
   * clientMessageId, one bad attachment) each is stored on its own, so one send's failure is
   * only its own. Without transactions, one by one.
   */
  private async storeBatch(jobs: SendJob[]): Promise<Array<PromiseSettledResult<Stored>>> {
    if (jobs.length > 1 && this.db.transactions) {
      try {
        return (await this.storeMany(jobs)).map((value) => ({ status: "fulfilled", value }));
      } catch (err) {
        // Settled one by one below, each with its own result or error. A duplicate
        // clientMessageId and a direct conversation's first message are expected causes;
        // anything else is worth a line.
        if ((err as { code?: number }).code !== 11000 && !(err instanceof NoConversation)) this.onError(err);
      }
    }
    const results: Array<PromiseSettledResult<Stored>> = [];
    for (const job of jobs) {
      try {
        results.push({ status: "fulfilled", value: await this.storeOrCreate(job) });
      } catch (reason) {
        results.push({ status: "rejected", reason });
      }
    }
    return results;
  }

  /** `store`, creating the direct conversation first when this is its first message. */
  private async storeOrCreate(job: SendJob): Promise<Stored> {
    try {
      return await this.store(job);
    } catch (err) {
      if (!(err instanceof NoConversation) || job.target.kind !== "direct") throw err;
      // Outside any transaction: creating it publishes the membership of both users.
      await this.conversations.directFor(...job.target.users);
      return this.store(job);
    }
  }

  /**
   * The seq allocation: ONE findOneAndUpdate that takes a seq for each of `sent` (`$inc` of
   * last_seq and rev, last_message_id) and returns the conversation after it, which the events
   * carry (no read of the conversation before the send, nor after). A group's conversation is
   * found by its _id, a direct one by its key (NoConversation before its first message).
   *
   * With `marks` (in a transaction) the same command moves each sender's read and delivered
   * marks to their last new seq: the seqs are only known inside the update, so it is a
   * pipeline update (`$add` to the previous last_seq, `$max` with the member's mark). Without a
   * transaction the marks follow the insert (markSenders), so a seq given back by `release`
   * was never marked.
   */
  private async allocate(target: Target, sent: SendJob[], lastId: Types.ObjectId, marks: boolean, session: TxnSession): Promise<Conversation> {
    const filter = target.kind === "group" ? { _id: target._id } : { direct_key: target.key };
    const count = sent.length;
    const options = { returnDocument: "after" as const, session };
    const allocated = marks
      ? await this.models.Conversation.findOneAndUpdate(filter, allocationPipeline(sent, lastId), { ...options, updatePipeline: true }).lean()
      : // rev moves with last_seq: each new message is one change (conversation/revisions.ts).
        await this.models.Conversation.findOneAndUpdate(filter, { $inc: { last_seq: count, rev: count }, $set: { last_message_id: lastId } }, options).lean();
    if (!allocated) throw target.kind === "direct" ? new NoConversation() : notFound("Conversation");
    return allocated as Conversation;
  }

  /** Without a transaction, after the insert: the sender's read and delivered marks move to the seq (one update, one array filter per sender). */
  private async markSenders(conversationId: Types.ObjectId, sent: Array<{ job: SendJob; seq: number }>, session: TxnSession): Promise<void> {
    const last = new Map<string, { job: SendJob; seq: number }>();
    for (const s of sent) last.set(s.job.sender._id.toHexString(), s);
    const marks: Record<string, number> = {};
    const arrayFilters: Array<Record<string, unknown>> = [];
    [...last.values()].forEach(({ job, seq }, k) => {
      marks[`members.$[m${k}].read_seq`] = seq;
      marks[`members.$[m${k}].delivered_seq`] = seq;
      if (job.sharesRead) marks[`members.$[m${k}].shared_read_seq`] = seq;
      arrayFilters.push({ [`m${k}.user_id`]: job.sender._id });
    });
    await this.models.Conversation.updateOne({ _id: conversationId }, { $max: marks }, { arrayFilters, timestamps: false, session });
  }

  /** Several sends of one conversation as ONE transaction (same writes as `store`, batched). */
  private storeMany(jobs: SendJob[]): Promise<Stored[]> {
    const { target, model } = jobs[0];
    return this.db.transaction(async (session) => {
      const ids = jobs.map(() => new Types.ObjectId());
      const conversation = await this.allocate(target, jobs, ids[ids.length - 1], true, session);
      const first = conversation.last_seq - jobs.length + 1;
      const firstRev = conversation.rev - jobs.length + 1;
      const messages = (await insertEntities(
        model,
        jobs.map((j, i) => ({ _id: ids[i], ...j.fields(first + i, conversation._id), ...j.draft, rev: firstRev + i })),
        { session: session ?? undefined },
      )) as unknown as AnyMessage[];
      for (const [i, j] of jobs.entries()) if (j.draft.attachment) await this.linkAttachment(j.draft.attachment, conversation.kind, ids[i], session);
      return messages.map((message, i) => ({ message, seq: first + i, conversation }));
    });
  }

  /**
   * The writes of one send, as ONE transaction when the database has them: the seq allocation
   * (which returns the conversation), the insert (not read back), the attachment's back-link
   * and the sender's own marks. A seq is therefore taken only by a message that is stored:
   * `last_seq >= N` committed means message N exists.
   * Idempotency inside the transaction is the unique (sender, clientMessageId) index: a retry
   * whose first attempt committed meanwhile fails its insert, which aborts the transaction (its
   * seq with it), and `orStored` answers with the stored message. One racing with an open first
   * attempt gets a WriteConflict and is re-run by withTransaction until that one has settled.
   */
  private async store(job: SendJob): Promise<Stored> {
    const { target, draft, model, fields } = job;
    try {
      return await this.db.transaction(async (session) => {
        const id = new Types.ObjectId();
        const conversation = await this.allocate(target, [job], id, Boolean(session), session);
        const seq = conversation.last_seq;
        try {
          // Through the driver (common/lean.ts insertEntities): the draft is the server's own, already checked.
          const [message] = (await insertEntities(model, [{ _id: id, ...fields(seq, conversation._id), ...draft, rev: conversation.rev }], {
            session: session ?? undefined,
          })) as unknown as AnyMessage[];
          if (draft.attachment) await this.linkAttachment(draft.attachment, conversation.kind, id, session);
          if (!session) await this.markSenders(conversation._id, [{ job, seq }], session);
          return { message, seq, conversation };
        } catch (err) {
          // In a transaction the abort gives the seq back; without one it is ours to release.
          throw session ? err : new SeqTaken(seq, id, conversation._id, err);
        }
      });
    } catch (err) {
      if (!this.db.transactions && err instanceof SeqTaken) await this.release(err, model, fields);
      throw err instanceof SeqTaken ? err.cause : err;
    }
  }

  /**
   * Standalone fallback (no transactions), after a send failed between taking seq N and storing
   * message N: give N back when it is still the last seq; otherwise keep the sequence gap-free
   * with a deleted placeholder at N, so streams never wait for a message that will not come.
   * Only a crash between the two writes can still leave a hole there (README: Delivery).
   */
  private async release(
    taken: SeqTaken,
    model: mongoose.Model<AnyMessage>,
    fields: (seq: number, conversationId: Types.ObjectId) => Record<string, unknown>,
  ): Promise<void> {
    const { seq, conversationId } = taken;
    const previous = await model.findOne({ conversation_id: conversationId, seq: seq - 1 }, { _id: 1 }).lean();
    const back = await this.models.Conversation.updateOne(
      { _id: conversationId, last_seq: seq },
      { $inc: { last_seq: -1 }, $set: { last_message_id: previous?._id ?? null } },
    );
    if (back.modifiedCount === 1) return;
    await model
      .create({ _id: taken.id, ...fields(seq, conversationId), content: "", message_type: MessageKind.TEXT, attachment: null, is_deleted: true })
      .catch((err: unknown) => this.onError(err));
  }

  /** A message by id from either collection, with the viewer's right to read it checked (by query). `field` names the id in a BAD_USER_INPUT. */
  async findReadable(viewerId: string, id: string, field = "id"): Promise<{ message: AnyMessage }> {
    const oid = parseId(id, field);
    const message = (await this.models.DirectMessage.findById(oid)) ?? (await this.models.GroupMessage.findById(oid));
    if (!message) throw notFound("Message");
    const member = await this.models.Conversation.exists({ _id: message.conversation_id, "members.user_id": new Types.ObjectId(viewerId) });
    if (!member) throw notFound("Message");
    return { message };
  }

  /** Soft delete: is_deleted true, content and edit history cleared. The sender, or in groups an admin. */
  async remove(viewerId: string, id: string): Promise<MessageView> {
    const { message } = await this.findReadable(viewerId, id);
    await this.guard.memberAction(viewerId);
    const isGroup = "group_id" in message && Boolean(message.group_id);
    if (message.sender_id.toHexString() !== viewerId) {
      const group = isGroup ? await this.models.Group.findById((message as GroupMessageDoc).group_id) : null;
      if (!group || !group.admins.some((a) => a.toHexString() === viewerId)) throw forbidden("Only the sender (or a group admin) can delete a message");
    }
    if (message.is_deleted) return this.viewWithSender(message);
    const model = isGroup ? this.models.GroupMessage : this.models.DirectMessage;
    // Replies show the quoted message (a tombstone now): they are stamped as changed too.
    const updated = await this.revisions.updateMessage(
      model as mongoose.Model<AnyMessage>,
      message.conversation_id,
      { _id: message._id },
      { $set: { is_deleted: true, content: "" }, $unset: { edit_history: 1 } },
      { replies: true },
    );
    if (!updated) throw notFound("Message");
    return this.publishUpdate(updated);
  }

  /** The message's view with its sender (public for reaction.service.ts: answers a no-op without publishing). */
  async viewWithSender(message: AnyMessage): Promise<MessageView> {
    const sender = await this.models.User.findById(message.sender_id);
    return messageView(message, sender);
  }

  /** Publishes `message.updated` with the message's new view (sender included) and returns it. */
  async publishUpdate(message: AnyMessage): Promise<MessageView> {
    const view = await this.viewWithSender(message);
    this.pubSub.publish("CONVERSATION", view.conversationId, { type: "message.updated", message: view });
    return view;
  }

  /**
   * Messages in seq order; `last: 50` is the newest 50, `before` pages back. Messages the viewer
   * hid (hideMessage) are left out: `hidden_for $ne viewer` is a residual filter on the same
   * (conversation_id, seq) index range, so a page is still one range read (see notHiddenFor).
   */
  async history(viewerId: string, conversationId: string, page: PageArgs): Promise<Connection<MessageView>> {
    // Light check: a page of history does not need a big group's member list.
    const conv = await this.conversations.requireMemberLight(viewerId, conversationId);
    const model = (conv.kind === "group" ? this.models.GroupMessage : this.models.DirectMessage) as mongoose.Model<AnyMessage>;
    // Plain objects: a page is only turned into views (common/lean.ts).
    const conn = await paginate(model, { conversation_id: conv._id, ...notHiddenFor(viewerId) }, [["seq", 1]], page, 50, { lean: true });
    return this.asViews(conn);
  }

  private asViews(conn: Connection<AnyMessage>): Connection<MessageView> {
    return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: messageView(e.node) })) };
  }

  /**
   * Full-text search over what the viewer can read (their conversations), newest first;
   * deleted messages never match (their content is cleared and they are filtered out).
   */
  async search(viewerId: string, query: string, conversationId: string | null | undefined, page: PageArgs): Promise<Connection<MessageView>> {
    const { limit } = validatePage(page, 20);
    const scope = conversationId ? [(await this.conversations.requireMemberLight(viewerId, conversationId))._id] : await this.conversations.idsFor(viewerId);
    let after: Types.ObjectId | null = null;
    if (page.after) {
      try {
        after = new Types.ObjectId(decodeCursor(page.after));
      } catch {
        throw badInput([{ field: "after", message: "after is not a valid cursor" }]);
      }
    }
    const filter: Record<string, unknown> = {
      $text: mongoose.trusted({ $search: query }),
      conversation_id: mongoose.trusted({ $in: scope }),
      is_deleted: false,
      ...notHiddenFor(viewerId),
      ...(after ? { _id: mongoose.trusted({ $lt: after }) } : {}),
    };
    const [direct, group] = await Promise.all([
      this.models.DirectMessage.find(filter)
        .sort({ _id: -1 })
        .limit(limit + 1),
      this.models.GroupMessage.find(filter)
        .sort({ _id: -1 })
        .limit(limit + 1),
    ]);
    const merged = [...direct, ...group].sort((a, b) => (a._id.toHexString() < b._id.toHexString() ? 1 : -1));
    const pageDocs = merged.slice(0, limit);
    const edges = pageDocs.map((m) => ({ cursor: encodeCursor(m._id.toHexString()), node: messageView(m) }));
    return {
      edges,
      pageInfo: {
        hasNextPage: merged.length > limit,
        hasPreviousPage: Boolean(after),
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      totalCount: Promise.resolve(null),
    };
  }

  /** Messages with seq > afterSeq in order, at most `limit` (subscription replay and gap fills). */
  async after(conversation: { _id: Types.ObjectId; kind: "direct" | "group" }, afterSeq: number, limit = 0): Promise<MessageView[]> {
    const model = (conversation.kind === "group" ? this.models.GroupMessage : this.models.DirectMessage) as mongoose.Model<AnyMessage>;
    const docs = await model
      .find({ conversation_id: conversation._id, seq: mongoose.trusted({ $gt: afterSeq }) })
      .sort({ seq: 1 })
      .limit(limit);
    return docs.map((d) => messageView(d));
  }

  /** The message loader's read; plain objects, only turned into views (common/lean.ts). */
  async lastMessages(ids: readonly string[]): Promise<Array<MessageView | null>> {
    const valid = validObjectIds(ids);
    const [direct, group] = await Promise.all([
      findEntities(this.models.DirectMessage, { _id: { $in: valid } }),
      findEntities(this.models.GroupMessage, { _id: { $in: valid } }),
    ]);
    return alignByIds(
      ids,
      [...direct, ...group].map((m) => messageView(m)),
      (v) => v.id,
    );
  }
}

declare module "../../context.js" {
  interface Services {
    messages: MessageService;
  }
  interface SharedLoaders {
    message: DataLoader<string, MessageView | null>;
  }
}
