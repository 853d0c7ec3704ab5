/**
 * Building the per-operation context (src/context.ts defines its shape): the viewer from the
 * bearer token and a live session, fresh loaders, a request id. HTTP and WebSocket alike.
 */
import { randomUUID } from "node:crypto";
import { bearerToken } from "./auth/tokens.js";
import type { Context, Viewer } from "./context.js";
import { createLoaders } from "./loaders.js";
import type { AppServices } from "./services.js";

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

export interface RequestInfo {
  ip: string;
  requestId?: string;
  userAgent?: string;
}

export async function buildContext(services: AppServices, authorization: unknown, request: RequestInfo): Promise<Context> {
  const viewer = await resolveViewer(services, authorization);
  if (viewer) {
    services.users.touch(viewer.id);
    services.sessions.touch(viewer.sessionId);
  }
  return {
    requestId: request.requestId ?? randomUUID(),
    ip: request.ip,
    userAgent: request.userAgent ?? null,
    viewer,
    services,
    loaders: createLoaders(services, viewer),
  };
}
