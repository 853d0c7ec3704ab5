/**
 * Whether the viewer may see a privacy-controlled field of a user (phone number, last
 * seen/presence, profile picture). Every place a user appears resolves these fields through
 * here: queries, node, group members, message senders and live events alike. The owner's
 * settings come with the root (document or event snapshot); the viewer's standing comes from
 * the per-request loader `entryAboutViewer`, one batched read for all users of a response.
 */
import type { Context } from "../../context.js";
import { ContactStatus } from "./contact-status.js";
import type { UserSnapshot } from "./user.view.js";
import type { User } from "./user.entity.js";
import { type Privacy, Visibility, maySee, privacyOf } from "./privacy.js";
import type { Entity } from "../../common/lean.js";

export type PrivateField = "phone_number_visibility" | "last_seen_visibility" | "profile_picture_visibility";

/** The owner's privacy settings from a stored document or an event snapshot. */
export function privacyOfUser(user: Entity<User> | UserSnapshot): Privacy {
  if ("privacy" in user && user.privacy) return privacyOf(user.privacy);
  return privacyOf((user as Entity<User>).settings);
}

export async function canSee(ctx: Context, user: Entity<User> | UserSnapshot, field: PrivateField): Promise<boolean> {
  const id = String(user._id);
  const viewer = ctx.viewer?.id;
  if (viewer === id) return true;
  if (!viewer) return false;
  const level = privacyOfUser(user)[field];
  if (level === Visibility.NOBODY) return false;
  const status = await ctx.loaders.entryAboutViewer.load(id);
  return maySee(level, { self: false, contact: status === ContactStatus.ACCEPTED, blocked: status === ContactStatus.BLOCKED });
}
