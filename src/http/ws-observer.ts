/**
 * Access logs and metrics of the graphql-ws side: one line per connection when it closes and
 * one per operation when it ends (request id, operation name, viewer, duration), the open
 * sockets gauge and the active subscriptions by root field. The useServer block calls these
 * hooks in one line each, so it stays easy to read (and to merge).
 */
import type http from "node:http";
import { Kind, getOperationAST, type DocumentNode, type GraphQLError } from "graphql";
import type { Logger } from "pino";
import type { WebSocket, WebSocketServer } from "ws";
import { requestIdOf } from "./access-log.js";
import { publicCode } from "./graphql-observer.js";
import type { AppMetrics } from "./metrics.js";
import { ErrorCode } from "../errors.js";

interface Operation {
  start: number;
  name: string | null;
  /** The subscription's root field, for the active-subscriptions gauge (null for queries). */
  field: string | null;
  viewerId: string | null;
}

interface ConnectionEntry {
  requestId: string;
  start: number;
  viewerId: string | null;
  operations: Map<string, Operation>;
}

/**
 * The `authorization` entry of graphql-ws connectionParams, under either spelling: GraphiQL's
 * headers editor sends `Authorization` (as an HTTP header would be written).
 */
export function connectionAuthorization(params: Readonly<Record<string, unknown>> | undefined): unknown {
  if (!params) return undefined;
  return params.authorization ?? params.Authorization;
}

export class WsObserver {
  private readonly connections = new WeakMap<WebSocket, ConnectionEntry>();

  constructor(
    private readonly metrics: AppMetrics,
    private readonly log: Logger,
  ) {}

  /** Follows every socket of the server: counts it while open, logs one line when it closes. */
  attach(wsServer: WebSocketServer): void {
    wsServer.on("connection", (socket: WebSocket, request: http.IncomingMessage) => {
      const entry: ConnectionEntry = {
        requestId: requestIdOf(request.headers["x-request-id"]),
        start: performance.now(),
        viewerId: null,
        operations: new Map(),
      };
      this.connections.set(socket, entry);
      this.metrics.wsOpen.inc();
      socket.once("close", (code: number, reason: Buffer) => {
        this.metrics.wsOpen.dec();
        this.log.info(
          {
            requestId: entry.requestId,
            ws: "connection",
            viewerId: entry.viewerId,
            code,
            reason: reason.toString("utf8") || undefined,
            durationMs: Math.round(performance.now() - entry.start),
          },
          "websocket closed",
        );
      });
    });
  }

  /** The request id of a socket's connection (operations get `<id>/<operation id>`). */
  requestId(socket: WebSocket, operationId?: string): string | undefined {
    const entry = this.connections.get(socket);
    if (!entry) return undefined;
    return operationId ? `${entry.requestId}/${operationId}` : entry.requestId;
  }

  connected(socket: WebSocket, viewerId: string | null | undefined): void {
    const entry = this.connections.get(socket);
    if (entry) entry.viewerId = viewerId ?? null;
  }

  /** An operation accepted by onSubscribe: it now runs until `completed`. */
  started(socket: WebSocket, id: string, document: DocumentNode, operationName: string | null | undefined, viewerId: string | null): void {
    const entry = this.connections.get(socket);
    if (!entry) return;
    const op = getOperationAST(document, operationName ?? undefined);
    const first = op?.selectionSet.selections[0];
    const field = op?.operation === "subscription" && first?.kind === Kind.FIELD ? first.name.value : null;
    entry.operations.set(id, { start: performance.now(), name: op?.name?.value ?? operationName ?? null, field, viewerId });
    if (field) this.metrics.subscriptionsActive.inc({ field });
  }

  completed(socket: WebSocket, id: string): void {
    const entry = this.connections.get(socket);
    const op = entry?.operations.get(id);
    if (!entry || !op) return;
    entry.operations.delete(id);
    if (op.field) this.metrics.subscriptionsActive.dec({ field: op.field });
    this.log.info(
      {
        requestId: `${entry.requestId}/${id}`,
        ws: "operation",
        operation: op.name ?? "anonymous",
        field: op.field ?? undefined,
        viewerId: op.viewerId,
        durationMs: Math.round(performance.now() - op.start),
      },
      "websocket operation ended",
    );
  }

  /** A shared frame's write to one subscriber threw (the others still got it): logged once. */
  deliveryFailed(err: unknown): void {
    this.log.error({ err }, "live delivery to a subscriber failed");
  }

  /** Errors sent over a socket: counted by code; internal ones logged once with their stack. */
  errors(socket: WebSocket, id: string, errors: readonly GraphQLError[]): void {
    for (const error of errors) {
      const code = publicCode(error);
      this.metrics.graphqlError(code, "ws");
      if (code === ErrorCode.INTERNAL_SERVER_ERROR) {
        this.log.error(
          { err: error.originalError ?? error, requestId: this.requestId(socket, id), path: error.path },
          "internal error in a WebSocket operation",
        );
      }
    }
  }
}
