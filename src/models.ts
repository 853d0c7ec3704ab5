/**
 * The table of models: every stored entity class by its model name, bound per connection (not
 * through typegoose's global model cache, so several API instances can live in one process).
 * Each entity declares its own entry of `ModelClasses` next to its class; `satisfies` keeps this
 * table and those declarations the same (no entry missing, none extra, each the right class).
 */
import { buildSchema } from "@typegoose/typegoose";
import type mongoose from "mongoose";
import type { ModelClasses, Models } from "./common/database.js";
import { Session } from "./modules/account/session.entity.js";
import { User } from "./modules/user/user.entity.js";
import { PasswordReset } from "./modules/password-reset/password-reset.entity.js";
import { Contact } from "./modules/contact/contact.entity.js";
import { FileItem, Media } from "./modules/media/media.entity.js";
import { Conversation } from "./modules/conversation/conversation.entity.js";
import { DirectMessage, GroupMessageDoc } from "./modules/message/message.entity.js";
import { Group } from "./modules/group/group.entity.js";
import { Call } from "./modules/call/call.entity.js";
import { Upload } from "./modules/media/upload.entity.js";
import { PresenceDoc } from "./modules/presence/presence.entity.js";
import { GroupInvitation } from "./modules/group/group-invitation.entity.js";
import { SecurityEvent } from "./modules/audit/security-event.entity.js";

const MODEL_CLASSES = {
  User,
  Session,
  PasswordReset,
  Contact,
  Media,
  File: FileItem,
  Conversation,
  DirectMessage,
  GroupMessage: GroupMessageDoc,
  Group,
  Call,
  Upload,
  Presence: PresenceDoc,
  GroupInvitation,
  SecurityEvent,
} satisfies ModelClasses;

export function bindModels(connection: mongoose.Connection): Models {
  const bound: Record<string, unknown> = {};
  for (const [name, cls] of Object.entries(MODEL_CLASSES)) bound[name] = connection.model(cls.name, buildSchema(cls));
  return bound as unknown as Models;
}
