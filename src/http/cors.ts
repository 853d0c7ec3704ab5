/**
 * CORS for /graphql and the byte routes (/uploads/, /files/), from CORS_ORIGINS, with the
 * `cors` package (the one Apollo's own integrations use). Credentials stay off: the API
 * authenticates with bearer tokens, never cookies, so browsers need not send any.
 */
import type http from "node:http";
import cors from "cors";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;

export interface CorsHandlers {
  /** Sets CORS headers; answers a preflight (OPTIONS) itself and returns true then. */
  graphql(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  bytes(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

function run(handler: Handler, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  let passed = false;
  // `cors` calls next() synchronously unless it ends a preflight.
  handler(req, res, () => (passed = true));
  return !passed;
}

export function createCors(origins: readonly string[]): CorsHandlers {
  // "*" answers `Access-Control-Allow-Origin: *`; a list echoes the request's origin when listed
  // (and adds `Vary: Origin`); an empty list sends no CORS headers at all.
  const origin = origins.includes("*") ? "*" : origins.length ? [...origins] : false;
  const common = { origin, credentials: false, maxAge: 600, optionsSuccessStatus: 204 };
  const graphql = cors({
    ...common,
    methods: ["GET", "POST", "OPTIONS"],
    allowedHeaders: [
      "content-type",
      "authorization",
      "accept",
      "x-request-id",
      "apollo-require-preflight",
      "x-apollo-operation-name",
      "graphql-client-name",
      "graphql-client-version",
      "x-retry-ticket",
    ],
    exposedHeaders: ["x-request-id", "x-retry-ticket"],
  }) as Handler;
  const bytes = cors({
    ...common,
    methods: ["GET", "HEAD", "PUT", "OPTIONS"],
    allowedHeaders: ["content-type", "range", "x-request-id"],
    exposedHeaders: ["x-request-id", "content-range", "content-length", "accept-ranges", "content-disposition"],
  }) as Handler;
  return {
    graphql: (req, res) => run(graphql, req, res),
    bytes: (req, res) => run(bytes, req, res),
  };
}
