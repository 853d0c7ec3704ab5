/**
 * The high-water-mark check: how a live `messageAdded` stream learns of a committed message
 * whose event never came (a Redis blip, an instance that died between commit and publish, an
 * overloaded subscriber queue) without waiting for the next message.
 *
 * The instance keeps the conversations that have live streams here. Every interval ONE query
 * reads `last_seq` of all of them (`$in`, projection only) and nudges each stream whose
 * delivered seq is behind: it then reads the missing messages from the database. With
 * transactions, `last_seq >= N` committed means message N is stored, so the read finds it.
 *
 * Reads of the missing messages are shared: streams of one conversation at the same position
 * (the usual case: they all delivered the same seqs) wait on one query, not one each.
 * The timer runs only while some stream is watched (unref'd, so it never holds the process
 * open); `stop()` ends it for good when the server stops.
 */
import mongoose, { type Types } from "mongoose";
import { BACKGROUND_COMMENT, type Models } from "../../common/database.js";
import type { MessageView } from "./message.view.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";

/** What the check needs of a stream. */
export interface Watched {
  /** The last seq the stream has released to its subscriber. */
  delivered(): number;
  /** The database's `last_seq` is `lastSeq`: read what is missing. */
  nudge(lastSeq: number): void;
}

/** Messages after a seq, with the conversation they belong to (null: it is gone). */
export type AfterRead = { messages: MessageView[]; snapshot: ConversationSnapshot | null };

/** Largest `$in` list in one query (BSON size); more conversations take more queries. */
const IDS_PER_QUERY = 5_000;

export class HighWater {
  private readonly watched = new Map<string, Set<Watched>>();
  private readonly reads = new Map<string, Promise<AfterRead>>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private stopped = false;
  /** In a database outage (its first failure was logged). */
  private failing = false;

  constructor(
    private readonly models: Models,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Watches a stream of one conversation until the returned function is called. */
  watch(conversationId: string, stream: Watched): () => void {
    let set = this.watched.get(conversationId);
    if (!set) this.watched.set(conversationId, (set = new Set()));
    set.add(stream);
    this.ensureTimer();
    return () => {
      const s = this.watched.get(conversationId);
      if (!s) return;
      s.delete(stream);
      if (s.size === 0) this.watched.delete(conversationId);
      if (this.watched.size === 0) this.stopTimer();
    };
  }

  /** Number of conversations watched (tests). */
  get conversations(): number {
    return this.watched.size;
  }

  /** One read of the messages after `afterSeq`, shared by every caller asking the same meanwhile. */
  readAfter(conversationId: string, afterSeq: number, read: () => Promise<AfterRead>): Promise<AfterRead> {
    const key = `${conversationId}:${afterSeq}`;
    let pending = this.reads.get(key);
    if (!pending) {
      // Logged here, once per shared read (not by each stream waiting on it), and once per outage.
      pending = read()
        .then(
          (r) => (this.succeeded(), r),
          (err: unknown) => {
            this.failed(err);
            throw err;
          },
        )
        .finally(() => this.reads.delete(key));
      this.reads.set(key, pending);
    }
    return pending;
  }

  /** Runs one check now (the timer's work; tests call it to avoid waiting). */
  async check(): Promise<void> {
    if (this.checking || this.watched.size === 0) return;
    this.checking = true;
    try {
      const ids = [...this.watched.keys()];
      for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
        const chunk = ids.slice(i, i + IDS_PER_QUERY).map((id) => new mongoose.Types.ObjectId(id));
        const docs = await this.models.Conversation.find({ _id: mongoose.trusted({ $in: chunk }) }, { last_seq: 1 })
          .lean()
          .comment(BACKGROUND_COMMENT);
        for (const doc of docs as Array<{ _id: Types.ObjectId; last_seq: number }>) {
          for (const stream of this.watched.get(doc._id.toHexString()) ?? []) {
            if (doc.last_seq > stream.delivered()) stream.nudge(doc.last_seq);
          }
        }
      }
      this.succeeded();
    } catch (err) {
      this.failed(err);
    } finally {
      this.checking = false;
    }
  }

  /**
   * A failed read (a check, or a fill, which its stream retries with back-off): logged at the
   * first failure of an outage only, not once per retry and interval while the database is away.
   */
  private failed(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.onError(err);
  }

  private succeeded(): void {
    this.failing = false;
  }

  stop(): void {
    this.stopped = true;
    this.stopTimer();
  }

  private ensureTimer(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
