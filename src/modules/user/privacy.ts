/**
 * Privacy settings: who sees a user's phone number, last seen/presence and profile picture,
 * and who may add them to groups. Stored on the user's settings (lower case, like seed 004's
 * enums); a document written before these existed has none, so every read goes through
 * `privacyOf`, which fills in the defaults.
 *
 * "Contacts" means the OWNER's accepted contacts: users the owner has an ACCEPTED entry about.
 * Accepting a request makes both entries ACCEPTED, so in practice it is mutual; after a block
 * the blocker's entry is BLOCKED, so the blocked user is no longer a contact.
 */
import { registerEnumType } from "type-graphql";

export enum Visibility {
  EVERYONE = "everyone",
  CONTACTS = "contacts",
  NOBODY = "nobody",
}
registerEnumType(Visibility, {
  name: "PrivacyVisibility",
  description: "Who sees a field of a user: everyone, their accepted contacts, or nobody (the user always sees their own).",
});

export enum GroupAddPolicy {
  EVERYONE = "everyone",
  CONTACTS = "contacts",
}
registerEnumType(GroupAddPolicy, {
  name: "GroupAddPolicy",
  description: "Who may add a user to a group directly; anyone else's addition becomes an invitation.",
});

/** The privacy part of a user's settings, always complete. */
export interface Privacy {
  phone_number_visibility: Visibility;
  last_seen_visibility: Visibility;
  profile_picture_visibility: Visibility;
  group_add_policy: GroupAddPolicy;
}

export const DEFAULT_PRIVACY: Readonly<Privacy> = Object.freeze({
  phone_number_visibility: Visibility.CONTACTS,
  last_seen_visibility: Visibility.CONTACTS,
  profile_picture_visibility: Visibility.CONTACTS,
  // As in the big messengers: anyone may add you unless you restrict it.
  group_add_policy: GroupAddPolicy.EVERYONE,
});

const VISIBILITIES = new Set<string>(Object.values(Visibility));
const POLICIES = new Set<string>(Object.values(GroupAddPolicy));

/** A stored or carried visibility value, or `fallback` when it is missing or unknown. */
export function visibilityOr(v: unknown, fallback: Visibility): Visibility {
  return typeof v === "string" && VISIBILITIES.has(v) ? (v as Visibility) : fallback;
}

/** The privacy settings from a stored (or snapshotted) settings object, defaults filled in. */
export function privacyOf(settings: Partial<Record<keyof Privacy, unknown>> | null | undefined): Privacy {
  const pick = <T extends string>(v: unknown, allowed: Set<string>, fallback: T): T => (typeof v === "string" && allowed.has(v) ? (v as T) : fallback);
  return {
    phone_number_visibility: pick(settings?.phone_number_visibility, VISIBILITIES, DEFAULT_PRIVACY.phone_number_visibility),
    last_seen_visibility: pick(settings?.last_seen_visibility, VISIBILITIES, DEFAULT_PRIVACY.last_seen_visibility),
    profile_picture_visibility: pick(settings?.profile_picture_visibility, VISIBILITIES, DEFAULT_PRIVACY.profile_picture_visibility),
    group_add_policy: pick(settings?.group_add_policy, POLICIES, DEFAULT_PRIVACY.group_add_policy),
  };
}

/** How the viewer stands towards the owner of a field. */
export interface Relation {
  self: boolean;
  /** The owner has the viewer as an accepted contact. */
  contact: boolean;
  /** The owner blocked the viewer: nothing private is shown, whatever the setting. */
  blocked: boolean;
}

export function maySee(level: Visibility, rel: Relation): boolean {
  if (rel.self) return true;
  if (rel.blocked) return false;
  if (level === Visibility.EVERYONE) return true;
  if (level === Visibility.CONTACTS) return rel.contact;
  return false;
}
