/**
 * The HTTP side of GraphQL: Apollo Server bridged onto Node's http (Apollo's own integration
 * API), with body limits, admission control, clients that gave up, and graphql-armor's limits.
 * Generic over the context; the root says how one is built.
 */
import type http from "node:http";
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLRequest } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type ValidationContext, type ValidationRule } from "graphql";
import type { RequestLimits } from "../config.js";
import { attachEntry, type RequestEntry } from "./access-log.js";
import { Admission } from "./admission.js";
import { sendJson } from "./bytes.js";

/** The client closed its connection before its request ran: nothing is executed, nothing answered. */
export const CLIENT_GONE = 499;

const clientGoneError = () => Object.assign(new Error("client closed the request"), { status: CLIENT_GONE });

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    // The client went away mid-body (Node destroys the request, "aborted"): not a server error.
    req.once("close", () => {
      if (!req.complete) reject(clientGoneError());
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(Object.assign(new Error("request body too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", (err) => reject(req.complete ? err : clientGoneError()));
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

/**
 * graphql-armor reports its limits as "Syntax Error: Query depth limit …", which reads like a
 * parse failure; they are validation failures (GRAPHQL_VALIDATION_FAILED, HTTP 400).
 */
function armorRejection(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
}
const rejectAsValidation = { propagateOnRejection: false, onReject: [armorRejection] };

/** graphql-armor's limits, for Apollo (plugins + rules) and graphql-ws (rules). */
export function graphqlProtection(limits: RequestLimits): { plugins: ApolloServerPlugin[]; validationRules: ValidationRule[] } {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ...rejectAsValidation },
    costLimit: { maxCost: limits.maxCost, ...rejectAsValidation },
    maxAliases: { n: limits.maxAliases, ...rejectAsValidation },
    maxDirectives: { n: limits.maxDirectives, ...rejectAsValidation },
    // Not armor's token plugin: it re-parses in parsingDidStart, where any syntax error becomes
    // a 500. graphql's own parser counts tokens (parseOptions below, and parse() on WS).
    maxTokens: { enabled: false },
  });
  const protection = armor.protect();
  // graphql-armor's typings point at Apollo's CJS build; the plugin objects are the same.
  return { plugins: protection.plugins as unknown as ApolloServerPlugin[], validationRules: protection.validationRules as ValidationRule[] };
}

export interface GraphqlHttpOptions<C extends object> {
  schema: GraphQLSchema;
  httpServer: http.Server;
  limits: RequestLimits;
  protection: ReturnType<typeof graphqlProtection>;
  introspection: boolean;
  production: boolean;
  /** Half of it for in-flight requests when stopping; the rest is for WebSockets and the database. */
  shutdownTimeoutMs: number;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  plugins: ApolloServerPlugin<C>[];
  admission: Admission;
  context(req: http.IncomingMessage, entry: RequestEntry, headers: HeaderMap): Promise<C>;
}

export interface GraphqlHttp {
  /** Runs one GraphQL request (routing, CORS and the playground are the caller's). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, entry: RequestEntry): Promise<void>;
  stop(): Promise<void>;
}

export async function createGraphqlHttp<C extends object>(options: GraphqlHttpOptions<C>): Promise<GraphqlHttp> {
  const { admission } = options;
  const apollo = new ApolloServer<C>({
    schema: options.schema,
    introspection: options.introspection,
    formatError: options.formatError,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // The process (src/index.ts) owns SIGTERM/SIGINT: Apollo's own handler raced it and kept
    // an idle API from ever exiting.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: !options.production,
    validationRules: options.protection.validationRules,
    parseOptions: { maxTokens: options.limits.maxTokens },
    plugins: [
      ...(options.protection.plugins as ApolloServerPlugin<C>[]),
      ...options.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer, stopGracePeriodMillis: Math.floor(options.shutdownTimeoutMs / 2) }),
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's cache-control plugin computes a cache policy field by field (bench:http's CPU
      // profile showed it on every resolved field); no answer of this API is cacheable (they
      // are per viewer), so it is off and every answer says `no-store` (handle, below).
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, entry: RequestEntry): Promise<void> {
    // Past capacity: a short wait in line, oldest retry first, then 503 + Retry-After, rather
    // than an answer too late to be of use. The slot is given back when the response closes.
    if (!(await admission.admit(req, res))) return;

    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    if (getQueryByClient(req)) headers.set("apollo-require-preflight", "true");
    const raw = req.method === "POST" ? await readBody(req, options.limits.maxBodyBytes) : "";
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
    if (Admission.clientGone(req)) throw clientGoneError();
    let gone = false;
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const context = await options.context(req, entry, headers);
        // The last point before the operation runs (the session check above waited on the database).
        if (Admission.clientGone(req)) {
          gone = true;
          throw new GraphQLError("Client closed the request", { extensions: { code: "CLIENT_CLOSED_REQUEST", http: { status: CLIENT_GONE } } });
        }
        return attachEntry(context, entry);
      },
    });
    if (gone) throw clientGoneError();
    res.setHeader("cache-control", "no-store");
    for (const [k, v] of result.headers) res.setHeader(k, v);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return { handle, stop: () => apollo.stop() };
}
