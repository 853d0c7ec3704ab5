/**
 * The per-operation context, the same for HTTP requests and WebSocket operations: who is
 * asking, the services, a fresh set of DataLoaders, a request id. Nothing request-scoped lives
 * at module level. This file only defines the shape: the root builds contexts (src/loaders.ts,
 * src/request-context.ts), and each feature adds the services and loaders it offers to
 * `Services`, `SharedLoaders` and `ViewerLoaders` (declaration merging, next to its service),
 * so this shared file imports no feature.
 */

export interface Viewer {
  id: string;
  sessionId: string;
  /** When the access token expires (absent for a viewer set by login/register in this operation). */
  expiresAt?: Date;
}

/** The services resolvers reach through the context. Features add theirs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface Services {}

/** Loaders that do not depend on who is asking: shareable by every subscriber of one event. Features add theirs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface SharedLoaders {}

/** Loaders whose answers depend on the viewer (made per subscriber). Features add theirs. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface ViewerLoaders {}

export type Loaders = SharedLoaders & ViewerLoaders;

export interface Context {
  requestId: string;
  /** The client's address, for per-IP rate limits. */
  ip: string;
  /** The client's User-Agent header (the sessions list shows it). */
  userAgent: string | null;
  viewer: Viewer | null;
  services: Services;
  loaders: Loaders;
}
