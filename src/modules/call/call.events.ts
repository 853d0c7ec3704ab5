/**
 * What the call feature publishes: call changes (direct calls on both users' topics, group
 * calls on the group's conversation topic) and WebRTC signals on a topic per participant.
 */
import type {} from "../conversation/conversation.events.js";
import type {} from "../user/user.events.js";

/** A call as stored, in JSON (ids as strings, dates as ISO strings). */
export type CallJson = Record<string, unknown>;

export interface CallUpdatedEvent {
  type: "call.updated";
  call: CallJson;
}

export interface CallSignalEvent {
  callId: string;
  fromId: string;
  signal: unknown;
}

export type CallTopics = {
  /** `<callId>:<userId>`: WebRTC signals for one participant of one call. */
  CALL_SIGNAL: [callAndUser: string, event: CallSignalEvent];
};

declare module "../conversation/conversation.events.js" {
  interface ConversationEventMap {
    "call.updated": { call: CallJson };
  }
}

declare module "../user/user.events.js" {
  interface UserEventMap {
    "call.updated": { call: CallJson };
  }
}
