/** A presence as the API hands it out and events carry it: plain JSON. */
export interface PresenceView {
  userId: string;
  /** Lower case, as stored (`online`, `away`, `busy`, `offline`). */
  status: string;
  lastActive: string;
  customStatus: string | null;
  deviceInfo: { deviceType: string | null; appVersion: string | null; platform: string | null } | null;
}
