/**
 * The privacy rules as pure functions: defaults for documents written before the settings
 * existed, every level × relation, and the decision a presence event carries for delivery.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PRIVACY, GroupAddPolicy, Visibility, maySee, privacyOf } from "../../src/modules/user/privacy.js";
import { eventVisibleTo } from "../../src/modules/presence/presence.service.js";

describe("privacy rules", () => {
  it("fills in the defaults for missing or unknown stored values", () => {
    expect(privacyOf(undefined)).toEqual(DEFAULT_PRIVACY);
    expect(privacyOf({ phone_number_visibility: "nobody", last_seen_visibility: "FRIENDS", group_add_policy: "contacts" })).toEqual({
      phone_number_visibility: Visibility.NOBODY,
      last_seen_visibility: Visibility.CONTACTS,
      profile_picture_visibility: Visibility.CONTACTS,
      group_add_policy: GroupAddPolicy.CONTACTS,
    });
  });

  it.each([
    [Visibility.EVERYONE, { self: false, contact: false, blocked: false }, true],
    [Visibility.EVERYONE, { self: false, contact: false, blocked: true }, false],
    [Visibility.CONTACTS, { self: false, contact: true, blocked: false }, true],
    [Visibility.CONTACTS, { self: false, contact: false, blocked: false }, false],
    [Visibility.NOBODY, { self: false, contact: true, blocked: false }, false],
    [Visibility.NOBODY, { self: true, contact: false, blocked: false }, true],
  ])("%s with %o → %s", (level, rel, expected) => {
    expect(maySee(level, rel)).toBe(expected);
  });

  it("decides presence delivery from the event alone; an event without a level counts as CONTACTS", () => {
    const presence = { userId: "owner", status: "online", lastActive: new Date(0).toISOString(), customStatus: null, deviceInfo: null };
    expect(eventVisibleTo({ presence, hiddenFrom: [], visibility: "contacts", contacts: ["friend"] }, "friend")).toBe(true);
    expect(eventVisibleTo({ presence, hiddenFrom: [], visibility: "contacts", contacts: ["friend"] }, "stranger")).toBe(false);
    expect(eventVisibleTo({ presence, hiddenFrom: ["stranger"], visibility: "everyone" }, "stranger")).toBe(false);
    expect(eventVisibleTo({ presence, hiddenFrom: [], visibility: "everyone" }, "stranger")).toBe(true);
    expect(eventVisibleTo({ presence, hiddenFrom: [], visibility: "nobody" }, "friend")).toBe(false);
    expect(eventVisibleTo({ presence, hiddenFrom: [] }, "friend")).toBe(false);
  });
});
