/**
 * createServer(config, db): composes one Node HTTP server carrying GraphQL over HTTP (Apollo,
 * http/graphql.ts) and graphql-ws on the same path (subscriptions/ws.ts), the health, metrics,
 * playground and byte routes. No side effects on import; listen() and stop() are the caller's.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { NoSchemaIntrospectionCustomRule, specifiedRules, type GraphQLSchema } from "graphql";
import { WebSocketServer } from "ws";
import { pino, type Logger } from "pino";
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import type { Context } from "./context.js";
import { buildContext, contextWithLoaders, resolveViewer } from "./request-context.js";
import { eventLoaders } from "./loaders.js";
import { createFormatError } from "./errors.js";
import { buildAppSchema } from "./schema.js";
import { createServices, type AppServices } from "./services.js";
import type { Mailer } from "./mail/mailer.js";
import { createAppPubSub } from "./pubsub.js";
import type { Topics } from "./topics.js";
import { sendJson, serveBytes } from "./http/bytes.js";
import { clientIpResolver } from "./http/client-ip.js";
import { servePlayground, servePlaygroundAsset, wantsPlayground } from "./playground.js";
import { AppMetrics, serveMetrics } from "./http/metrics.js";
import { createCors } from "./http/cors.js";
import { startRequest, type RequestEntry } from "./http/access-log.js";
import { graphqlObserver } from "./http/graphql-observer.js";
import { WsObserver } from "./http/ws-observer.js";
import { serveSchema } from "./http/schema-route.js";
import { Admission } from "./http/admission.js";
import { CLIENT_GONE, createGraphqlHttp, graphqlProtection } from "./http/graphql.js";
import { SocketGuard } from "./subscriptions/socket-guard.js";
import { serveGraphqlWs } from "./subscriptions/ws.js";

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

export interface ServerOptions {
  mailer: Mailer;
  /** Access logs and failures; a pino logger at the configured level by default. */
  log?: Logger;
}

export async function createServer(config: Config, db: Database, options: ServerOptions): Promise<AppServer> {
  const log = options.log ?? pino({ level: config.logLevel });
  const pubSubHandle = createAppPubSub<Topics>(config.redisUrl, log);
  const metrics = new AppMetrics();
  metrics.instrumentPubSub(pubSubHandle.pubSub);
  const stopDbMetrics = metrics.instrumentMongo(db.connection.getClient() as never);
  const schema = await buildAppSchema(pubSubHandle.pubSub);
  const cors = createCors(config.corsOrigins);
  const wsObserver = new WsObserver(metrics, log);
  const services = createServices(
    config,
    db,
    options.mailer,
    pubSubHandle.pubSub,
    (err, task) => log.error({ err, task }, `background task failed: ${task}`),
    log,
  );
  const loadersForEvent = eventLoaders(services);
  const httpServer = http.createServer();
  const clientIp = clientIpResolver(config.trustProxy);
  const protection = graphqlProtection(config.requests);
  const formatError = createFormatError(config.env === "production");
  const admission = new Admission(config.reliability, metrics, config.jwtSecret);

  // noServer: with `server`, ws re-emits the HTTP server's errors (EADDRINUSE) on itself, where
  // graphql-ws prints them with a stack trace; upgrades are routed here instead.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: config.requests.maxWsPayloadBytes });
  const socketGuard = new SocketGuard(wsServer, config.reliability, metrics);
  httpServer.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== "/graphql") {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit("connection", ws, req));
  });
  wsObserver.attach(wsServer);
  const ws = serveGraphqlWs<Context>({
    schema,
    wsServer,
    limits: config.requests,
    validationRules: [...specifiedRules, ...protection.validationRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
    connectionInitWaitTimeoutMs: config.reliability.wsConnectionInitTimeoutMs,
    observer: wsObserver,
    formatError,
    delivered: (payload) => metrics.delivered(payload),
    authenticate: async (authorization, socket) => {
      // Closed with 4401 when its login ends or its token expires, 4429 past the per-user cap.
      let release: (() => void) | undefined;
      const viewer = await resolveViewer(services, authorization, (v) => (release = services.liveSockets.add(v, socket)));
      if (!viewer) release?.();
      if (authorization !== undefined && !viewer) return false;
      return { viewer, release: viewer ? release : undefined };
    },
    viewerConnected: (viewerId) => void services.presence.connected(viewerId),
    viewerDisconnected: (viewerId) => void services.presence.disconnected(viewerId),
    requestInfo: (request) => ({ ip: clientIp(request), userAgent: request.headers["user-agent"] }),
    context: (authorization, request, requestId) =>
      buildContext(services, authorization, { ip: request.ip, requestId, userAgent: request.userAgent }, { lazyLoaders: true }),
    // Each event runs with loaders made for it (see loaders.ts), not the operation's own.
    contextForEvent: (context, event) => contextWithLoaders(context, loadersForEvent(event, context.viewer)),
  });

  const graphqlHttp = await createGraphqlHttp<Context>({
    schema,
    httpServer,
    limits: config.requests,
    protection,
    introspection: config.introspection,
    production: config.env === "production",
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    formatError,
    plugins: [graphqlObserver(metrics, log)],
    admission,
    context: (req, entry, headers) =>
      buildContext(services, req.headers.authorization, { ip: clientIp(req), requestId: entry.requestId, userAgent: headers.get("user-agent") ?? undefined }),
  });
  services.start();

  httpServer.on("request", (req, res) => {
    const entry = startRequest(req, res, log, metrics);
    void route(req, res, entry).catch((err: unknown) => {
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

  async function route(req: http.IncomingMessage, res: http.ServerResponse, entry: RequestEntry): Promise<void> {
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
    return graphqlHttp.handle(req, res, url, entry);
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
     * hold the HTTP drain for its whole grace period), then Apollo drains HTTP requests, then
     * the services' timers and connections, then pubsub.
     */
    async stop() {
      socketGuard.stop();
      admission.close();
      await ws.dispose();
      await graphqlHttp.stop();
      await services.stop();
      await pubSubHandle.close();
      stopDbMetrics();
    },
  };
}
