/**
 * One pino line per HTTP request, written when the response is finished (or the client went
 * away), with the request id: the client's `x-request-id` when it is a sane one, else a new
 * UUID; echoed back in the response so a client can quote it. The same line feeds the metrics.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { Logger } from "pino";
import type { AppMetrics, HttpOutcome } from "./metrics.js";

/**
 * Where an HTTP request's context carries its entry. A symbol-keyed property, not a WeakMap on
 * the context: Apollo shallow-clones the context per operation (the clone keeps the property).
 */
const REQUEST_ENTRY = Symbol("letsapp.requestEntry");

export function attachEntry<T extends object>(context: T, entry: RequestEntry): T {
  Object.defineProperty(context, REQUEST_ENTRY, { value: entry, enumerable: true });
  return context;
}

export function entryOf(context: object): RequestEntry | undefined {
  return (context as { [REQUEST_ENTRY]?: RequestEntry })[REQUEST_ENTRY];
}

const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** What one request learns on its way (filled in by the routes and the Apollo plugin). */
export interface RequestEntry {
  readonly requestId: string;
  readonly start: number;
  /** Which kind of route answered: graphql, bytes, health, metrics, playground, other. */
  route: string;
  operation: string | null;
  viewerId: string | null;
  /** The response carried GraphQL errors (with a 200 status). */
  graphqlErrors: boolean;
}

export function requestIdOf(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

function outcomeOf(status: number, graphqlErrors: boolean): HttpOutcome {
  if (status >= 500) return "server_error";
  if (status >= 400) return "client_error";
  return graphqlErrors ? "graphql_error" : "success";
}

/** Starts the entry of one request: sets `x-request-id`, logs and counts it when it ends. */
export function startRequest(req: http.IncomingMessage, res: http.ServerResponse, log: Logger, metrics: AppMetrics): RequestEntry {
  const entry: RequestEntry = {
    requestId: requestIdOf(req.headers["x-request-id"]),
    start: performance.now(),
    route: "other",
    operation: null,
    viewerId: null,
    graphqlErrors: false,
  };
  res.setHeader("x-request-id", entry.requestId);
  res.once("close", () => {
    const seconds = (performance.now() - entry.start) / 1000;
    const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
    const operation = entry.operation ?? (entry.route === "graphql" ? "anonymous" : "-");
    metrics.observeHttp(
      entry.route,
      entry.route === "graphql" ? metrics.operationLabel(entry.operation) : "-",
      outcomeOf(status, entry.graphqlErrors),
      seconds,
    );
    log.info(
      {
        requestId: entry.requestId,
        method: req.method,
        path: (req.url ?? "/").split("?")[0],
        status,
        durationMs: Math.round(seconds * 10_000) / 10,
        operation,
        viewerId: entry.viewerId,
        ...(entry.graphqlErrors ? { graphqlErrors: true } : {}),
      },
      "http request",
    );
  });
  return entry;
}
