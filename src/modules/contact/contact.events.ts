/** What the contact feature publishes: blocks, on the blocked user's topic. */
import type {} from "../user/user.events.js";

declare module "../user/user.events.js" {
  interface UserEventMap {
    /** `by` blocked (active) or unblocked this user: their typing, receipts and signals stop or resume. */
    block: { by: string; active: boolean };
  }
}
