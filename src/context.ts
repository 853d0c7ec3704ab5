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

export interface Viewer {
  id: string;
  sessionId: string;
}

export interface Loaders {
  user: DataLoader<string, DocumentType<User> | null>;
}

export interface Context {
  requestId: string;
  /** The client's address, for per-IP rate limits. */
  ip: string;
  viewer: Viewer | null;
  services: AppServices;
  loaders: Loaders;
}

export function createLoaders(services: AppServices): Loaders {
  return {
    user: new DataLoader((ids: readonly string[]) => services.users.findByIds(ids)),
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
  return {
    requestId: requestId ?? randomUUID(),
    ip,
    viewer: await resolveViewer(services, authorization),
    services,
    loaders: createLoaders(services),
  };
}
