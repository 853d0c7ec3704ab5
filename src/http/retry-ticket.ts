/**
 * Retry tickets: a shed request's 503 carries a ticket saying when the server first refused
 * it (`x-retry-ticket` header and `extensions.retryTicket`); the client sends it back on the
 * retry (header `x-retry-ticket`), on any instance, and admission serves older tickets first,
 * so a send cannot lose the draw on every retry and starve.
 *
 * The time is the server's own clock (a client's clock may be minutes off), signed with the
 * instances' shared JWT secret (a client cannot make itself older), and bound to the request's
 * Authorization header (a ticket cannot be handed to another user). A ticket only orders the
 * waiting line; it never bypasses the in-flight cap, so a client that re-uses one for new
 * sends gains a place in line, not capacity (and its sends are still rate-limited per user).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Older tickets are ignored: by then the client has given up on that request anyway. */
const MAX_AGE_MS = 10 * 60_000;
/** Instances' clocks differ a little: a ticket this far "in the future" is still accepted. */
const CLOCK_SKEW_MS = 5_000;

export class RetryTickets {
  constructor(private readonly secret: Uint8Array) {}

  private sign(at: number, auth: string): string {
    return createHmac("sha256", this.secret).update(`retry-ticket\n${at}\n${auth}`).digest("base64url").slice(0, 22);
  }

  /** A ticket for a request first refused at `at` (ms since the epoch). */
  issue(at: number, auth: string): string {
    return `${at}.${this.sign(at, auth)}`;
  }

  /** The first-refusal time of a valid ticket, or null (absent, forged, another user's, too old). */
  read(raw: string | string[] | undefined, auth: string, now: number): number | null {
    if (typeof raw !== "string" || raw.length > 64) return null;
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(raw.trim());
    if (!m) return null;
    const at = Number(m[1]);
    if (at > now + CLOCK_SKEW_MS || now - at > MAX_AGE_MS) return null;
    const expected = Buffer.from(this.sign(at, auth));
    const given = Buffer.from(m[2]);
    return expected.length === given.length && timingSafeEqual(expected, given) ? at : null;
  }
}
