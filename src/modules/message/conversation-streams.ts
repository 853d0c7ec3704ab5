/**
 * The live streams of conversations as one service the resolvers reach through the context:
 * it holds what the streams need (pubsub, the high-water check, message reads), so a resolver
 * passes only the viewer and the conversation.
 */
import { ConversationListeners, conversationEvents, messagesWithReplay, viewerEvents, type StreamOptions } from "./streams.js";
import type { StreamDeps } from "./streams.deps.js";
import type { ConversationRef } from "../conversation/conversation.service.js";

export class ConversationStreams {
  /** The topic listeners of the message streams (one per conversation, not one per stream). */
  readonly listeners: ConversationListeners;

  constructor(private readonly deps: StreamDeps) {
    this.listeners = new ConversationListeners(deps.pubSub);
  }

  /** Every conversation of the viewer, following joins and leaves. */
  viewerEvents(viewerId: string, options: StreamOptions = {}) {
    return viewerEvents(this.deps, viewerId, options);
  }

  /** One conversation (membership already checked); ends with FORBIDDEN when access is revoked. */
  conversationEvents(viewerId: string, conversation: ConversationRef, options: StreamOptions = {}) {
    return conversationEvents(this.deps, viewerId, conversation, options);
  }

  /** Messages after `afterSeq` from the database, then live: in seq order, each once. */
  messagesWithReplay(conversation: ConversationRef, viewerId: string, afterSeq: number | null) {
    return messagesWithReplay(this.deps, this.listeners, conversation, viewerId, afterSeq);
  }
}

declare module "../../context.js" {
  interface Services {
    streams: ConversationStreams;
  }
}
