/** What the message feature publishes on a conversation's topic. */
import type { MessageView } from "./message.view.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import type {} from "../conversation/conversation.events.js";

declare module "../conversation/conversation.events.js" {
  interface ConversationEventMap {
    "message.added": { message: MessageView; conversation: ConversationSnapshot };
    "message.updated": { message: MessageView };
  }
}
