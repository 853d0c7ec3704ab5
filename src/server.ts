/**
 * createServer(config, db): one Node HTTP server carrying Apollo (POST/GET /graphql through
 * Apollo's own HTTP integration API), the graphql-ws endpoint on the same path, and the health
 * routes. No side effects on import; listen() and stop() are the caller's.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule, execute, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationContext } from "graphql";
import { createSharedSubscribe } from "./subscriptions/shared-execution.js";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import type { Context } from "./context.js";
import { buildContext, resolveViewer } from "./request-context.js";
import { eventLoaders } from "./loaders.js";
import { createFormatError } from "./errors.js";
import { buildAppSchema } from "./schema.js";
import { createServices, type AppServices } from "./services.js";
import type { Mailer } from "./mail/mailer.js";
import { createAppPubSub } from "./pubsub.js";
import { pino, type Logger } from "pino";
import { sendJson, serveBytes } from "./http/bytes.js";
import { clientIpResolver } from "./http/client-ip.js";
import { servePlayground, servePlaygroundAsset, wantsPlayground } from "./playground.js";
import { AppMetrics, serveMetrics } from "./http/metrics.js";
import { createCors } from "./http/cors.js";
import { attachEntry, startRequest, type RequestEntry } from "./http/access-log.js";
import { graphqlObserver } from "./http/graphql-observer.js";
import { WsObserver, connectionAuthorization } from "./http/ws-observer.js";
import { serveSchema } from "./http/schema-route.js";
import { Admission } from "./http/admission.js";
import { SocketGuard } from "./subscriptions/socket-guard.js";

/** Largest accepted request body (GraphQL documents and variables; uploads go elsewhere). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Largest accepted WebSocket message. */
const MAX_WS_PAYLOAD = 256 * 1024;
/** Subscriptions one WebSocket connection may hold at once. */
const MAX_WS_OPERATIONS = 100;
/** Largest GraphQL document, in tokens (HTTP and WS alike). */
const MAX_TOKENS = 2000;

/** What a graphql-ws connection remembers: its user for presence, how to forget its socket. */
interface PresenceExtra {
  presenceUserId?: string;
  releaseSocket?: () => void;
}

export interface AppServer {
  httpServer: http.Server;
  services: AppServices;
  schema: GraphQLSchema;
  /** This instance's Prometheus registry (GET /metrics). */
  metrics: AppMetrics;
  /** Admission control (tests read how many requests run and wait). */
  admission: Pick<Admission, "load">;
  listen(port?: number): Promise<number>;
  stop(): Promise<void>;
}

/** The client closed its connection before its request ran: nothing is executed, nothing answered. */
const CLIENT_GONE = 499;

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    // The client went away mid-body (Node destroys the request, "aborted"): not a server error.
    const gone = () => reject(Object.assign(new Error("client closed the request"), { status: CLIENT_GONE }));
    req.once("close", () => {
      if (!req.complete) gone();
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", (err) => (req.complete ? reject(err) : gone()));
  });
}


/**
 * A GET query sent by a GraphQL client library rather than by a page's <img>/<script>/form:
 * it asks for `application/graphql-response+json` (urql and Apollo Client do by default; a
 * browser never does on its own). GET never runs mutations, so with that Accept header the
 * request passes Apollo's CSRF prevention, which otherwise wants a preflight-forcing header.
 */
function getQueryByClient(req: http.IncomingMessage): boolean {
  return req.method === "GET" && (req.headers.accept ?? "").includes("application/graphql-response+json");
}

export interface ServerOptions {
  mailer: Mailer;
  /** Access logs and failures; a pino logger at the configured level by default. */
  log?: Logger;
}

/**
 * graphql-armor reports its limits as "Syntax Error: Query depth limit …", which reads like a
 * typo in the document. Reported as validation errors instead, with the limit's own words.
 */
function armorRejection(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
}
const rejectAsValidation = { propagateOnRejection: false, onReject: [armorRejection] };

export async function createServer(config: Config, db: Database, options: ServerOptions): Promise<AppServer> {
  const log = options.log ?? pino({ level: config.logLevel });
  const pubSubHandle = createAppPubSub(config.redisUrl, log);
  const metrics = new AppMetrics();
  metrics.instrumentPubSub(pubSubHandle.pubSub);
  const stopDbMetrics = metrics.instrumentMongo(db.connection.getClient() as never);
  const schema = await buildAppSchema(pubSubHandle.pubSub);
  const cors = createCors(config.corsOrigins);
  const wsObserver = new WsObserver(metrics, log);
  const services = createServices(config, db, options.mailer, pubSubHandle.pubSub, (err, task) => log.error({ err, task }, `background task failed: ${task}`), log);
  const loadersForEvent = eventLoaders(services);
  const httpServer = http.createServer();
  const clientIp = clientIpResolver(config.trustProxy);
  const armor = new ApolloArmor({
    maxDepth: { n: 10, ...rejectAsValidation },
    costLimit: { maxCost: 5000, ...rejectAsValidation },
    maxAliases: { n: 15, ...rejectAsValidation },
    maxDirectives: { n: 50, ...rejectAsValidation },
    // Not armor's token plugin: it re-parses in parsingDidStart, where any syntax error becomes
    // a 500. graphql's own parser counts tokens (parseOptions below, and parse() on WS).
    maxTokens: { enabled: false },
  });
  const protection = armor.protect();

  // noServer: with `server`, ws re-emits the HTTP server's errors (EADDRINUSE) on itself, where
  // graphql-ws prints them with a stack trace; upgrades are routed here instead.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD });
  const admission = new Admission(config.reliability, metrics, config.jwtSecret);
  const socketGuard = new SocketGuard(wsServer, config.reliability, metrics);
  httpServer.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== "/graphql") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit("connection", ws, req));
  });
  wsObserver.attach(wsServer);
  // graphql-ws runs no Apollo plugin or validation rule: the same limits are applied here.
  const format = createFormatError(config.env === "production");
  const wsRules = [...specifiedRules, ...protection.validationRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const queryTexts = new WeakMap<DocumentNode, string>();
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      execute,
      // graphql-ws's default (3 s) closes sockets with 4408 when a lagging loop reads the init late.
      connectionInitWaitTimeout: config.reliability.wsConnectionInitTimeoutMs,
      subscribe: createSharedSubscribe<Context>({
        queryText: (document) => queryTexts.get(document),
        delivered: (payload) => metrics.delivered(payload),
        // Each event runs with loaders made for it (see loaders.ts), not the operation's own.
        contextForEvent: (context, event) => ({ ...context, loaders: loadersForEvent(event, context.viewer) }),
      }),
      onConnect: async (ctx) => {
        const extra = ctx.extra as PresenceExtra;
        const authorization = connectionAuthorization(ctx.connectionParams);
        // Closed with 4401 when its login ends or its token expires, 4429 past the per-user cap.
        const viewer = await resolveViewer(services, authorization, (v) => (extra.releaseSocket = services.liveSockets.add(v, ctx.extra.socket)));
        if (!viewer) extra.releaseSocket?.();
        // A token that is presented but bad or expired closes the socket with 4403 Forbidden.
        if (authorization !== undefined && !viewer) return false;
        wsObserver.connected(ctx.extra.socket, viewer?.id);
        if (viewer) {
          // Presence counts signed-in connections; onClose gives the count back.
          extra.presenceUserId = viewer.id;
          void services.presence.connected(viewer.id);
        }
        return true;
      },
      onClose: (ctx) => {
        (ctx.extra as PresenceExtra).releaseSocket?.();
        const userId = (ctx.extra as PresenceExtra).presenceUserId;
        if (userId) void services.presence.disconnected(userId);
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws lists the connection's live operations, this one included.
        if (Object.keys(ctx.subscriptions).length > MAX_WS_OPERATIONS) {
          return [new GraphQLError(`At most ${MAX_WS_OPERATIONS} subscriptions per connection`, { extensions: { code: "BAD_USER_INPUT" } })];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: MAX_TOKENS });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError("Invalid document", { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
        }
        const errors = validate(schema, document, wsRules);
        if (errors.length) return errors;
        queryTexts.set(document, payload.query);
        const contextValue = await buildContext(services, connectionAuthorization(ctx.connectionParams), {
          ip: clientIp(ctx.extra.request),
          requestId: wsObserver.requestId(ctx.extra.socket, _id),
          userAgent: ctx.extra.request.headers["user-agent"],
        });
        wsObserver.started(ctx.extra.socket, _id, document, payload.operationName, contextValue.viewer?.id ?? null);
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if ("errors" in result && result.errors) {
          wsObserver.errors(ctx.extra.socket, id, result.errors);
          return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e) as unknown as GraphQLError) };
        }
        return result;
      },
      onError: (ctx, id, _payload, errors) => void wsObserver.errors(ctx.extra.socket, id, errors),
      onComplete: (ctx, id) => wsObserver.completed(ctx.extra.socket, id),
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.introspection,
    formatError: createFormatError(config.env === "production"),
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // The process (src/index.ts) owns SIGTERM/SIGINT: Apollo's own handler raced it and kept
    // an idle API from ever exiting.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: config.env !== "production",
    validationRules: protection.validationRules,
    parseOptions: { maxTokens: MAX_TOKENS },
    plugins: [
      // graphql-armor's typings point at Apollo's CJS build; the plugin objects are the same.
      ...(protection.plugins as unknown as ApolloServerPlugin<Context>[]),
      graphqlObserver(metrics, log),
      // Half the stop budget for in-flight requests, the rest for WebSockets and the database.
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: Math.floor(config.shutdownTimeoutMs / 2) }),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  services.calls.startTimers();
  services.uploads.startTimers();
  services.presence.start();

  httpServer.on("request", (req, res) => {
    const entry = startRequest(req, res, log, metrics);
    void handle(req, res, entry).catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (status === CLIENT_GONE) {
        metrics.reliability.inc({ action: "client_gone" });
        return void res.destroy();
      }
      // Logged here once, with its stack; the client gets no internals.
      if (status >= 500) log.error({ err, requestId: entry.requestId, path: (req.url ?? "/").split("?")[0] }, "internal error in an HTTP request");
      if (!res.headersSent) sendJson(res, status, { errors: [{ message: status === 413 ? "Request body too large" : "Internal server error" }] });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, entry: RequestEntry): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/healthz") {
      entry.route = "health";
      return sendJson(res, 200, { status: "ok" });
    }
    if (url.pathname === "/readyz") {
      entry.route = "health";
      const [database, redis] = await Promise.all([db.ping(), pubSubHandle.ping()]);
      // Redis down makes the instance not ready (503): it still serves what reaches it, and
      // delivers its own events to its own clients, but it cannot see the other instances'
      // events, so a load balancer should send new clients elsewhere until Redis is back.
      const ready = database && redis !== false;
      const status = !database ? "database unreachable" : redis === false ? "redis unreachable" : "ready";
      const body = { status, database: database ? "up" : "down", ...(redis === null ? {} : { redis: redis ? "up" : "down" }) };
      return sendJson(res, ready ? 200 : 503, body);
    }
    if (url.pathname === "/metrics" && config.metricsEnabled) {
      entry.route = "metrics";
      return serveMetrics(metrics, config.metricsToken, req, res);
    }
    if (url.pathname === "/schema.graphql" || url.pathname === "/favicon.ico" || url.pathname.startsWith("/playground/")) {
      entry.route = "playground";
      if (url.pathname === "/schema.graphql") return serveSchema(schema, config.introspection, req, res);
      if (servePlaygroundAsset(url.pathname, res)) return;
    }
    if (url.pathname.startsWith("/uploads/") || url.pathname.startsWith("/files/")) {
      entry.route = "bytes";
      if (cors.bytes(req, res)) return;
      return serveBytes(services, req, res, url);
    }
    if (url.pathname !== "/graphql") return sendJson(res, 404, { error: "not found" });
    entry.route = "graphql";
    if (cors.graphql(req, res)) return;
    if (wantsPlayground(req, url)) {
      entry.route = "playground";
      return servePlayground(res);
    }

    // Past capacity: a short wait in line, oldest retry first, then 503 + Retry-After, rather
    // than an answer too late to be of use.
    // The slot is given back when the response closes.
    if (!(await admission.admit(req, res))) return;

    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    if (getQueryByClient(req)) headers.set("apollo-require-preflight", "true");
    const raw = req.method === "POST" ? await readBody(req) : "";
    let body: unknown = raw;
    if (raw && (headers.get("content-type") ?? "").includes("application/json")) {
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(res, 400, { errors: [{ message: "Request body is not valid JSON", extensions: { code: "BAD_REQUEST" } }] });
      }
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? "GET", headers, search: url.search, body };
    // A client that gave up (its retry is on its way, maybe to another instance) gets nothing run.
    const clientGone = () => Object.assign(new Error("client closed the request"), { status: CLIENT_GONE });
    if (Admission.clientGone(req)) throw clientGone();
    let gone = false;
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const context = await buildContext(services, req.headers.authorization, { ip: clientIp(req), requestId: entry.requestId, userAgent: headers.get("user-agent") ?? undefined });
        // The last point before the operation runs (the session check above waited on the database).
        if (Admission.clientGone(req)) {
          gone = true;
          throw new GraphQLError("Client closed the request", { extensions: { code: "CLIENT_CLOSED_REQUEST", http: { status: CLIENT_GONE } } });
        }
        return attachEntry(context, entry);
      },
    });
    if (gone) throw clientGone();
    for (const [k, v] of result.headers) res.setHeader(k, v);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return {
    httpServer,
    services,
    schema,
    metrics,
    admission,
    listen(port = config.port) {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, () => resolve((httpServer.address() as { port: number }).port));
      });
    },
    /**
     * WebSocket clients first (close frame 1001 "Going away": an upgraded socket would otherwise
     * hold the HTTP drain for its whole grace period), then Apollo drains HTTP requests.
     */
    async stop() {
      services.calls.stopTimers();
      services.uploads.stopTimers();
      services.highWater.stop();
      socketGuard.stop();
      admission.close();
      await wsCleanup.dispose();
      await services.presence.stop(!config.redisUrl);
      await apollo.stop();
      await services.rateLimiter.close();
      await pubSubHandle.close();
      stopDbMetrics();
    },
  };
}
