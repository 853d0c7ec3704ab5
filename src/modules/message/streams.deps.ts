/**
 * What the live streams (streams.ts) use of the application: only these methods, so the
 * feature does not import the composition root (services.ts); the root's `services` object
 * fits this interface structurally and is passed as it is.
 */
import type { Types } from "mongoose";
import type { AppPubSub } from "../../pubsub.js";
import type { MessageView } from "./message.view.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type { HighWater } from "./high-water.js";
import type { ConversationTopics } from "../conversation/conversation.events.js";
import type { UserTopics } from "../user/user.events.js";

export interface StreamDeps {
  /** Topic listeners (hot path) and iterators (the all-conversations stream). */
  pubSub: Pick<AppPubSub<ConversationTopics & UserTopics>, "listen" | "subscribe">;
  /** The per-instance check for lost events, and its shared reads of missing messages. */
  highWater: Pick<HighWater, "watch" | "readAfter">;
  /** Standalone databases (no transactions) may keep a seq empty for good: see seq-order.ts. */
  db: { readonly transactions: boolean };
  messages: {
    /** Messages with seq > afterSeq in order, at most `limit`. */
    after(conversation: { _id: Types.ObjectId; kind: "direct" | "group" }, afterSeq: number, limit?: number): Promise<MessageView[]>;
  };
  conversations: {
    /** The conversation as message events carry it (null: it is gone). */
    snapshot(conversationId: Types.ObjectId): Promise<ConversationSnapshot | null>;
    /** Every conversation the viewer belongs to. */
    idsFor(viewerId: string): Promise<Types.ObjectId[]>;
  };
  contacts: {
    /** Who blocked the viewer. */
    blockedBy(viewerId: string): Promise<Types.ObjectId[]>;
  };
}
