/**
 * Retry tickets (src/http/retry-ticket.ts): the age a shed request carries to its retry, on any
 * instance sharing the secret; forged, tampered, other users', stale and future tickets are
 * worth nothing.
 */
import { describe, expect, it } from "vitest";
import { RetryTickets } from "../../src/http/retry-ticket.js";

const secret = new TextEncoder().encode("test-secret-that-is-long-enough-0123456789");
const auth = "Bearer token-of-ann";
const now = 1_800_000_000_000;

describe("RetryTickets", () => {
  it("reads back the first-refusal time on any instance with the same secret", () => {
    const ticket = new RetryTickets(secret).issue(now - 3000, auth);
    expect(new RetryTickets(secret).read(ticket, auth, now)).toBe(now - 3000);
    expect(new RetryTickets(secret).read(` ${ticket} `, auth, now)).toBe(now - 3000);
  });

  it("ignores tickets that are forged, tampered with, another user's, another secret's, stale, from the future or malformed", () => {
    const tickets = new RetryTickets(secret);
    const ticket = tickets.issue(now - 3000, auth);
    const [at, sig] = ticket.split(".");
    expect(tickets.read(`${Number(at) - 60_000}.${sig}`, auth, now)).toBeNull();
    expect(tickets.read(`${at}.${"A".repeat(22)}`, auth, now)).toBeNull();
    expect(tickets.read(ticket, "Bearer token-of-bob", now)).toBeNull();
    expect(new RetryTickets(new TextEncoder().encode("another-secret-that-is-long-enough-012345")).read(ticket, auth, now)).toBeNull();
    expect(tickets.read(tickets.issue(now - 11 * 60_000, auth), auth, now)).toBeNull();
    expect(tickets.read(tickets.issue(now + 60_000, auth), auth, now)).toBeNull();
    for (const bad of [undefined, "", "x", [ticket], `${ticket}.`, "1.2.3"]) expect(tickets.read(bad, auth, now)).toBeNull();
  });
});
