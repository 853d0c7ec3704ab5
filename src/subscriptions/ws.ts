/**
 * The graphql-ws endpoint: the protocol wiring, who is connected, and the limits. graphql-ws
 * runs no Apollo plugin or validation rule, so the HTTP side's limits are applied here too
 * (document tokens, depth/cost/alias rules, operations per socket). Generic over the context:
 * the root says how a connection is authenticated and how a context is built (as graphql-ws's
 * own adapters are generic over their `Extra`).
 */
import type http from "node:http";
import { GraphQLError, execute, parse, validate, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { WebSocket, WebSocketServer } from "ws";
import type { RequestLimits } from "../config.js";
import type { Viewer } from "../context.js";
import { connectionAuthorization, type WsObserver } from "../http/ws-observer.js";
import type { DeliveryTarget } from "./direct-delivery.js";
import { createSharedSubscribe } from "./shared-execution.js";

/** What a connection's authentication decided. */
export type WsAuthentication =
  /** A viewer (null: anonymous) and how to forget its socket when it closes. */
  | { viewer: Viewer | null; release?: () => void }
  /** A token that is presented but bad or expired: the socket closes with 4403 Forbidden. */
  | false;

export interface WsEndpointOptions<C extends { viewer: Viewer | null }> {
  schema: GraphQLSchema;
  wsServer: WebSocketServer;
  limits: RequestLimits;
  /** Validation rules beyond graphql's own (depth, cost, aliases, introspection). */
  validationRules: readonly ValidationRule[];
  /** graphql-ws's default (3 s) closes sockets with 4408 when a lagging loop reads the init late. */
  connectionInitWaitTimeoutMs: number;
  observer: WsObserver;
  /** Errors as clients see them (the same formatting as HTTP). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Hears of each event whose result goes to the socket next (metrics). */
  delivered: (payload: unknown) => void;
  authenticate(authorization: unknown, socket: WebSocket): Promise<WsAuthentication>;
  /** A signed-in connection opened or closed (presence counts them). */
  viewerConnected(viewerId: string): void;
  viewerDisconnected(viewerId: string): void;
  /** What operations' contexts need of the upgrade request, read once when the connection starts. */
  requestInfo(request: http.IncomingMessage): WsRequestInfo;
  /** The context of one operation. */
  context(authorization: unknown, request: WsRequestInfo, requestId: string | undefined): Promise<C>;
  /** The context one live event is resolved with (loaders of its own). */
  contextForEvent(context: C, event: object): C;
}

/**
 * Parsed and validated documents by operation text: thousands of clients subscribing with the
 * same operation share one AST (and one answer of isViewerIndependent, cached by document)
 * instead of holding one each. Bounded in entries and in the size of a text kept, so a client
 * sending distinct large documents cannot grow it; the least recently used entry goes first.
 */
const DOCUMENT_CACHE_ENTRIES = 500;
const DOCUMENT_CACHE_MAX_TEXT = 16 * 1024;

/** The client's address and User-Agent, from the upgrade request. */
export interface WsRequestInfo {
  ip: string;
  userAgent: string | undefined;
}

/**
 * What a connection remembers: its user for presence, how to forget its socket, and what its
 * operations need of the upgrade request (the request itself is let go: its headers, parser
 * state and streams would otherwise stay for the connection's life, about 1 KB each).
 */
interface ConnectionExtra {
  viewerId?: string;
  release?: () => void;
  info?: WsRequestInfo;
  request?: http.IncomingMessage;
}

/** Serves graphql-ws on `wsServer`; the returned dispose closes every socket (1001). */
export function serveGraphqlWs<C extends { viewer: Viewer | null }>(options: WsEndpointOptions<C>): { dispose(): void | Promise<void> } {
  const { schema, observer, limits } = options;
  const rules = [...options.validationRules];
  const queryTexts = new WeakMap<DocumentNode, string>();
  const documents = new Map<string, DocumentNode>();
  /** Each operation's socket and id, by its context (direct delivery writes to them). */
  const targets = new WeakMap<object, DeliveryTarget>();
  /** The document of an operation text, parsed and validated once while it stays cached. */
  const documentFor = (query: string): DocumentNode | readonly GraphQLError[] => {
    const cached = documents.get(query);
    if (cached) {
      documents.delete(query);
      documents.set(query, cached);
      return cached;
    }
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens });
    } catch (err) {
      return [err instanceof GraphQLError ? err : new GraphQLError("Invalid document", { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
    }
    const errors = validate(schema, document, rules);
    if (errors.length) return errors;
    queryTexts.set(document, query);
    if (query.length <= DOCUMENT_CACHE_MAX_TEXT) {
      documents.set(query, document);
      if (documents.size > DOCUMENT_CACHE_ENTRIES) documents.delete(documents.keys().next().value!);
    }
    return document;
  };
  return useServer<Record<string, unknown>>(
    {
      schema,
      execute,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      subscribe: createSharedSubscribe<C>({
        queryText: (document) => queryTexts.get(document),
        delivered: options.delivered,
        contextForEvent: options.contextForEvent,
        direct: {
          target: (args) => targets.get(args.contextValue as object),
          hooks: {
            formatError: options.formatError,
            errors: (socket, id, errors) => observer.errors(socket, id, errors),
            failed: (err) => observer.deliveryFailed(err),
          },
        },
      }),
      onConnect: async (ctx) => {
        const extra = ctx.extra as ConnectionExtra;
        if (extra.request) extra.info = options.requestInfo(extra.request);
        extra.request = undefined;
        const auth = await options.authenticate(connectionAuthorization(ctx.connectionParams), ctx.extra.socket);
        if (auth === false) return false;
        extra.release = auth.release;
        observer.connected(ctx.extra.socket, auth.viewer?.id);
        if (auth.viewer) {
          // Presence counts signed-in connections; onClose gives the count back.
          extra.viewerId = auth.viewer.id;
          options.viewerConnected(auth.viewer.id);
        }
        return true;
      },
      onClose: (ctx) => {
        const extra = ctx.extra as ConnectionExtra;
        extra.release?.();
        if (extra.viewerId) options.viewerDisconnected(extra.viewerId);
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws lists the connection's live operations, this one included.
        if (Object.keys(ctx.subscriptions).length > limits.maxWsOperations) {
          return [new GraphQLError(`At most ${limits.maxWsOperations} subscriptions per connection`, { extensions: { code: "BAD_USER_INPUT" } })];
        }
        const document = documentFor(payload.query);
        if (!("kind" in document)) return document;
        const info = (ctx.extra as ConnectionExtra).info ?? { ip: "unknown", userAgent: undefined };
        const contextValue = await options.context(connectionAuthorization(ctx.connectionParams), info, observer.requestId(ctx.extra.socket, id));
        observer.started(ctx.extra.socket, id, document, payload.operationName, contextValue.viewer?.id ?? null);
        targets.set(contextValue, { socket: ctx.extra.socket, id });
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if ("errors" in result && result.errors) {
          observer.errors(ctx.extra.socket, id, result.errors);
          return { ...result, errors: result.errors.map((e) => options.formatError(e.toJSON(), e) as unknown as GraphQLError) };
        }
        return result;
      },
      onError: (ctx, id, _payload, errors) => void observer.errors(ctx.extra.socket, id, errors),
      onComplete: (ctx, id) => observer.completed(ctx.extra.socket, id),
    },
    options.wsServer,
    // No keep-alive timer per socket from graphql-ws: SocketGuard pings every socket from one
    // timer and terminates dead peers (socket-guard.ts).
    0,
  );
}
