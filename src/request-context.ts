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

export interface ContextOptions {
  /**
   * Make the loaders on first use (WebSocket operations): a live subscription's own context is
   * kept for as long as it lives, yet its events are resolved with loaders made per event, so
   * eleven idle DataLoaders per subscription would only cost memory.
   */
  lazyLoaders?: boolean;
}

export async function buildContext(services: AppServices, authorization: unknown, request: RequestInfo, options: ContextOptions = {}): Promise<Context> {
  const viewer = await resolveViewer(services, authorization);
  if (viewer) {
    services.users.touch(viewer.id);
    services.sessions.touch(viewer.sessionId);
  }
  const context: Context = {
    requestId: request.requestId ?? randomUUID(),
    ip: request.ip,
    userAgent: request.userAgent ?? null,
    viewer,
    services,
    loaders: undefined as unknown as Context["loaders"],
  };
  if (!options.lazyLoaders) context.loaders = createLoaders(services, viewer);
  else {
    let loaders: Context["loaders"] | undefined;
    Object.defineProperty(context, "loaders", {
      enumerable: true,
      configurable: true,
      get: () => (loaders ??= createLoaders(services, viewer)),
      set: (value: Context["loaders"]) => void (loaders = value),
    });
  }
  return context;
}

/**
 * The context one live event is resolved with: the operation's, with the event's loaders
 * (loaders.ts). Written out field by field, so an operation's lazy loaders are not made.
 */
export function contextWithLoaders(context: Context, loaders: Context["loaders"]): Context {
  return { requestId: context.requestId, ip: context.ip, userAgent: context.userAgent, viewer: context.viewer, services: context.services, loaders };
}
