/**
 * A user's public profile as plain JSON (string ids, ISO dates), the shape events carry so that
 * delivering to N subscribers needs no read of the user per subscriber.
 */
import type { Types } from "mongoose";
import type { User } from "./user.entity.js";
import { type Privacy, privacyOf } from "./privacy.js";
import type { Entity } from "../../common/lean.js";

/** The public part of a user (what any member may see), in storage shape with string ids. */
export interface UserSnapshot {
  _id: string;
  username: string;
  full_name: string | null;
  bio: string;
  phone_number?: string;
  profile_picture: string | null;
  is_active: boolean;
  last_seen: string;
  created_at: string;
  updated_at: string;
  /**
   * The owner's privacy settings (never exposed as such): the User field resolvers decide per
   * viewer from them, so an event needs no read of the sender per subscriber.
   */
  privacy: Privacy;
}

export interface UserLike {
  _id: Types.ObjectId | string;
  username: string;
  full_name?: string | null;
  bio?: string;
  phone_number?: string;
  profile_picture?: string | null;
  is_active: boolean;
  last_seen?: Date | string;
  created_at: Date | string;
  updated_at: Date | string;
  settings?: Partial<Record<keyof Privacy, unknown>> | null;
}

const iso = (d: Date | string | undefined): string => new Date(d ?? 0).toISOString();

export function userSnapshot(u: UserLike): UserSnapshot {
  return {
    _id: String(u._id),
    username: u.username,
    full_name: u.full_name ?? null,
    bio: u.bio ?? "",
    ...(u.phone_number ? { phone_number: u.phone_number } : {}),
    profile_picture: u.profile_picture ?? null,
    is_active: u.is_active,
    last_seen: iso(u.last_seen),
    created_at: iso(u.created_at),
    updated_at: iso(u.updated_at),
    privacy: privacyOf(u.settings),
  };
}

/** What a User field resolver gets: a plain user from the loader or a document (queries), or a snapshot with string ids (live events). */
export type UserRoot = Entity<User> | UserSnapshot;

export function userIdOf(user: { _id: unknown }): string {
  return String(user._id);
}
