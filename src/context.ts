/**
 * The per-operation context, built the same way for HTTP requests and WebSocket operations:
 * who is asking (from the access token), a fresh set of DataLoaders, a request id. Nothing
 * request-scoped lives at module level.
 */
import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import { bearerToken } from "./auth/tokens.js";
import type { AppServices } from "./services.js";
import type { User } from "./modules/user/user.entity.js";
import { type Contact, ContactStatus } from "./modules/contact/contact.entity.js";
import type { FileItem, Media } from "./modules/media/media.entity.js";
import type { Group } from "./modules/group/group.entity.js";
import type { MessageView } from "./modules/message/message.view.js";
import type { PresenceView } from "./modules/presence/presence.view.js";
import { type ConversationSnapshot, snapshotOf } from "./modules/conversation/conversation.view.js";

export interface Viewer {
  id: string;
  sessionId: string;
  /** When the access token expires (absent for a viewer set by login/register in this operation). */
  expiresAt?: Date;
}

/** Loaders that do not depend on who is asking: shareable by every subscriber of one event. */
export interface SharedLoaders {
  user: DataLoader<string, DocumentType<User> | null>;
  media: DataLoader<string, DocumentType<Media> | null>;
  file: DataLoader<string, DocumentType<FileItem> | null>;
  conversation: DataLoader<string, ConversationSnapshot | null>;
  group: DataLoader<string, DocumentType<Group> | null>;
  message: DataLoader<string, MessageView | null>;
  /** Stored presence by user id (null: never connected). */
  presence: DataLoader<string, PresenceView | null>;
}

export interface Loaders extends SharedLoaders {
  /** The viewer's contact entry about a user. */
  contactOf: DataLoader<string, DocumentType<Contact> | null>;
  /** Whether a user blocked the viewer. */
  blockedViewer: DataLoader<string, boolean>;
  /**
   * A user's own entry about the viewer (ACCEPTED: the viewer is their contact; BLOCKED), for
   * privacy settings. One batched read answers every user of a response.
   */
  entryAboutViewer: DataLoader<string, ContactStatus | null>;
}

export interface Context {
  requestId: string;
  /** The client's address, for per-IP rate limits. */
  ip: string;
  /** The client's User-Agent header (the sessions list shows it). */
  userAgent: string | null;
  viewer: Viewer | null;
  services: AppServices;
  loaders: Loaders;
}

export function createSharedLoaders(services: AppServices): SharedLoaders {
  return {
    user: new DataLoader((ids: readonly string[]) => services.users.findByIds(ids)),
    media: new DataLoader((ids: readonly string[]) => services.media.mediaByIds(ids)),
    file: new DataLoader((ids: readonly string[]) => services.media.filesByIds(ids)),
    conversation: new DataLoader(async (ids: readonly string[]) => (await services.conversations.byIds(ids)).map((c) => (c ? snapshotOf(c) : null))),
    group: new DataLoader((ids: readonly string[]) => services.groups.byIds(ids)),
    message: new DataLoader((ids: readonly string[]) => services.messages.lastMessages(ids)),
    presence: new DataLoader((ids: readonly string[]) => services.presence.byUserIds(ids)),
  };
}

const eventLoaders = new WeakMap<object, SharedLoaders>();

/**
 * Loaders for one live event: the shared ones are made once per event (every subscriber of
 * that event in this instance reuses them), the viewer's own ones per subscriber.
 */
export function loadersForEvent(services: AppServices, event: object, viewer: Viewer | null, prime?: (shared: SharedLoaders) => void): Loaders {
  let shared = eventLoaders.get(event);
  if (!shared) {
    shared = createSharedLoaders(services);
    prime?.(shared);
    eventLoaders.set(event, shared);
  }
  return { ...shared, ...viewerLoaders(services, viewer) };
}

export function createLoaders(services: AppServices, viewer: Viewer | null): Loaders {
  return { ...createSharedLoaders(services), ...viewerLoaders(services, viewer) };
}

function viewerLoaders(services: AppServices, viewer: Viewer | null): Pick<Loaders, "contactOf" | "blockedViewer" | "entryAboutViewer"> {
  const entryAboutViewer = new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.statusesTowards(viewer.id, ids) : ids.map(() => null)));
  return {
    contactOf: new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.entriesAbout(viewer.id, ids) : ids.map(() => null))),
    // Shares entryAboutViewer's batch: blocks and contacts come from the same entries.
    blockedViewer: new DataLoader(async (ids: readonly string[]) => (await entryAboutViewer.loadMany(ids)).map((s) => s === ContactStatus.BLOCKED)),
    entryAboutViewer,
  };
}

/**
 * The viewer of a bearer token, or null when there is none; a bad or revoked token is null too.
 * `beforeSessionCheck` runs between the token check and the session's database check (a
 * WebSocket starts listening for its login's end there, so an end in between is not missed).
 */
export async function resolveViewer(services: AppServices, authorization: unknown, beforeSessionCheck?: (viewer: Viewer) => void): Promise<Viewer | null> {
  const token = bearerToken(authorization);
  if (!token) return null;
  const claims = await services.tokens.verifyAccess(token);
  if (!claims) return null;
  const viewer: Viewer = { id: claims.userId, sessionId: claims.sessionId, ...(claims.expiresAt ? { expiresAt: claims.expiresAt } : {}) };
  beforeSessionCheck?.(viewer);
  if (!(await services.accounts.isSessionActive(claims.sessionId))) return null;
  return viewer;
}

export async function buildContext(services: AppServices, authorization: unknown, ip: string, requestId?: string, userAgent?: string): Promise<Context> {
  const viewer = await resolveViewer(services, authorization);
  if (viewer) {
    services.users.touch(viewer.id);
    services.sessions.touch(viewer.sessionId);
  }
  return { requestId: requestId ?? randomUUID(), ip, userAgent: userAgent ?? null, viewer, services, loaders: createLoaders(services, viewer) };
}
