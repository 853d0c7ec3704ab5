/**
 * createServer(config, db): one Node HTTP server carrying Apollo (POST/GET /graphql through
 * Apollo's own HTTP integration API), the graphql-ws endpoint on the same path, and the health
 * routes. No side effects on import; listen() and stop() are the caller's.
 */
import http from "node:http";
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule, execute, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { createSharedSubscribe } from "./subscriptions/shared-execution.js";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import { buildContext, resolveViewer, type Context } from "./context.js";
import { createFormatError } from "./errors.js";
import { buildAppSchema } from "./schema.js";
import { createServices, type AppServices } from "./services.js";
import type { Mailer } from "./mail/mailer.js";
import { createAppPubSub } from "./pubsub.js";
import { pino, type Logger } from "pino";
import { sendJson, serveBytes } from "./http/bytes.js";
import { clientIpResolver } from "./http/client-ip.js";
import { servePlayground, servePlaygroundAsset, wantsPlayground } from "./playground.js";

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
  listen(port?: number): Promise<number>;
  stop(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
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
    req.on("error", reject);
  });
}


export interface ServerOptions {
  mailer: Mailer;
  /** Logs failures of background work; a pino logger at the configured level by default. */
  log?: Pick<Logger, "error">;
}

export async function createServer(config: Config, db: Database, options: ServerOptions): Promise<AppServer> {
  const pubSubHandle = createAppPubSub(config.redisUrl);
  const schema = await buildAppSchema(pubSubHandle.pubSub);
  const log = options.log ?? pino({ level: config.logLevel });
  const services = createServices(config, db, options.mailer, pubSubHandle.pubSub, (err, task) => log.error({ err, task }, `background task failed: ${task}`));
  const httpServer = http.createServer();
  const clientIp = clientIpResolver(config.trustProxy);
  const armor = new ApolloArmor({
    maxDepth: { n: 10 },
    costLimit: { maxCost: 5000 },
    maxAliases: { n: 15 },
    maxDirectives: { n: 50 },
    maxTokens: { n: MAX_TOKENS },
  });
  const protection = armor.protect();

  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: MAX_WS_PAYLOAD });
  // graphql-ws runs no Apollo plugin or validation rule: the same limits are applied here.
  const format = createFormatError(config.env === "production");
  const wsRules = [...specifiedRules, ...protection.validationRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const queryTexts = new WeakMap<DocumentNode, string>();
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      execute,
      subscribe: createSharedSubscribe((document) => queryTexts.get(document)),
      onConnect: async (ctx) => {
        const extra = ctx.extra as PresenceExtra;
        // Closed with 4401 when its login ends or its token expires, 4429 past the per-user cap.
        const viewer = await resolveViewer(services, ctx.connectionParams?.authorization, (v) => (extra.releaseSocket = services.liveSockets.add(v, ctx.extra.socket)));
        if (!viewer) extra.releaseSocket?.();
        // A token that is presented but bad or expired closes the socket with 4403 Forbidden.
        if (ctx.connectionParams?.authorization !== undefined && !viewer) return false;
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
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await buildContext(services, ctx.connectionParams?.authorization, clientIp(ctx.extra.request), undefined, ctx.extra.request.headers["user-agent"]),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if ("errors" in result && result.errors) {
          return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e) as unknown as GraphQLError) };
        }
        return result;
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.introspection,
    formatError: createFormatError(config.env === "production"),
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: config.env !== "production",
    validationRules: protection.validationRules,
    plugins: [
      // graphql-armor's typings point at Apollo's CJS build; the plugin objects are the same.
      ...(protection.plugins as unknown as ApolloServerPlugin<Context>[]),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  services.calls.startTimers();
  services.uploads.startTimers();
  services.presence.start();

  httpServer.on("request", (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent) sendJson(res, status, { errors: [{ message: status === 413 ? "Request body too large" : "Internal server error" }] });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (url.pathname === "/readyz") {
      const ok = await db.ping();
      return sendJson(res, ok ? 200 : 503, { status: ok ? "ready" : "database unreachable" });
    }
    if (url.pathname.startsWith("/playground/") && servePlaygroundAsset(url.pathname, res)) return;
    if (url.pathname.startsWith("/uploads/") || url.pathname.startsWith("/files/")) return serveBytes(services, req, res, url);
    if (url.pathname !== "/graphql") return sendJson(res, 404, { error: "not found" });
    if (wantsPlayground(req, url)) return servePlayground(res);

    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
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
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => buildContext(services, req.headers.authorization, clientIp(req), headers.get("x-request-id") ?? undefined, headers.get("user-agent") ?? undefined),
    });
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
      await wsCleanup.dispose();
      await services.presence.stop(!config.redisUrl);
      await apollo.stop();
      await services.rateLimiter.close();
      await pubSubHandle.close();
    },
  };
}
