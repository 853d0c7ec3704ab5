/** What the presence feature publishes: a user's presence, on their presence topic. */
import type { PresenceView } from "./presence.view.js";

/**
 * A presence as the API shows it, who must not see it (the users its owner blocked), and who
 * may by the owner's lastSeenVisibility, so delivery reads nothing per subscriber.
 */
export interface PresenceEvent {
  presence: PresenceView;
  hiddenFrom: string[];
  /** The owner's lastSeenVisibility (`everyone`, `contacts`, `nobody`); absent: `contacts`. */
  visibility?: string;
  /** With `contacts`: the owner's accepted contacts. */
  contacts?: string[];
}

export type PresenceTopics = {
  PRESENCE: [userId: string, event: PresenceEvent];
};
