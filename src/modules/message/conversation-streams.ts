/**
 * The live streams of conversations as one service the resolvers reach through the context:
 * it holds what the streams need (pubsub, the high-water check, message reads), so a resolver
 * passes only the viewer and the conversation.
 */
import { conversationEvents, messagesWithReplay, viewerEvents, type StreamOptions } from "./streams.js";
import type { StreamDeps } from "./streams.deps.js";
import type { ConversationRef } from "../conversation/conversation.service.js";

export class ConversationStreams {
  constructor(private readonly deps: StreamDeps) {}

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
    return messagesWithReplay(this.deps, conversation, viewerId, afterSeq);
  }
}

declare module "../../context.js" {
  interface Services {
    streams: ConversationStreams;
  }
}
