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
import type { Contact } from "./modules/contact/contact.entity.js";
import type { Media } from "./modules/media/media.entity.js";

export interface Viewer {
  id: string;
  sessionId: string;
}

export interface Loaders {
  user: DataLoader<string, DocumentType<User> | null>;
  /** The viewer's contact entry about a user. */
  contactOf: DataLoader<string, DocumentType<Contact> | null>;
  /** Whether a user blocked the viewer. */
  blockedViewer: DataLoader<string, boolean>;
  media: DataLoader<string, DocumentType<Media> | null>;
}

export interface Context {
  requestId: string;
  /** The client's address, for per-IP rate limits. */
  ip: string;
  viewer: Viewer | null;
  services: AppServices;
  loaders: Loaders;
}

export function createLoaders(services: AppServices, viewer: Viewer | null): Loaders {
  return {
    user: new DataLoader((ids: readonly string[]) => services.users.findByIds(ids)),
    contactOf: new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.entriesAbout(viewer.id, ids) : ids.map(() => null))),
    blockedViewer: new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.whichBlocked(viewer.id, ids) : ids.map(() => false))),
    media: new DataLoader((ids: readonly string[]) => services.media.mediaByIds(ids)),
  };
}

/** The viewer of a bearer token, or null when there is none; a bad or revoked token is null too. */
export async function resolveViewer(services: AppServices, authorization: unknown): Promise<Viewer | null> {
  const token = bearerToken(authorization);
  if (!token) return null;
  const claims = await services.tokens.verifyAccess(token);
  if (!claims) return null;
  if (!(await services.accounts.isSessionActive(claims.sessionId))) return null;
  return { id: claims.userId, sessionId: claims.sessionId };
}

export async function buildContext(services: AppServices, authorization: unknown, ip: string, requestId?: string): Promise<Context> {
  const viewer = await resolveViewer(services, authorization);
  if (viewer) services.users.touch(viewer.id);
  return { requestId: requestId ?? randomUUID(), ip, viewer, services, loaders: createLoaders(services, viewer) };
}
