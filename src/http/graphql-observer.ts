/**
 * The Apollo plugin that connects GraphQL to the request's access-log entry and the metrics:
 * operation name and viewer, GraphQL errors counted by code, internal errors logged once with
 * their stack. It also refuses subscriptions over HTTP with a 400 that points to the WebSocket
 * endpoint (executing one over HTTP would fail deep inside the resolvers).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import type { Logger } from "pino";
import type { Context } from "../context.js";
import { ErrorCode } from "../errors.js";
import { entryOf } from "./access-log.js";
import type { AppMetrics } from "./metrics.js";

/** Codes that describe the client's request, not a failure of ours. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/** The code a client sees for an error (as formatError will present it). */
export function publicCode(error: GraphQLError | { extensions?: Record<string, unknown>; originalError?: unknown }): string {
  const original = (error as { originalError?: { extensions?: { validationErrors?: unknown } } }).originalError;
  if (Array.isArray(original?.extensions?.validationErrors)) return ErrorCode.BAD_USER_INPUT;
  const code = error.extensions?.code;
  return typeof code === "string" && CLIENT_CODES.has(code) ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

export const SUBSCRIPTION_OVER_HTTP_MESSAGE =
  "Subscriptions are not served over HTTP: use the WebSocket endpoint (graphql-ws, subprotocol graphql-transport-ws) on the same /graphql path";

export function graphqlObserver(metrics: AppMetrics, log: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue, request }) {
      const entry = entryOf(contextValue);
      if (entry) {
        entry.operation = request.operationName ?? null;
        entry.viewerId = contextValue.viewer?.id ?? null;
      }
      return {
        async didResolveOperation({ operation, operationName }) {
          if (entry) entry.operation = operationName ?? null;
          if (operation?.operation === "subscription") {
            throw new GraphQLError(SUBSCRIPTION_OVER_HTTP_MESSAGE, { extensions: { code: "BAD_REQUEST", http: { status: 400 } } });
          }
        },
        async didEncounterErrors({ errors, operationName }) {
          if (entry) entry.graphqlErrors = true;
          for (const error of errors) {
            const code = publicCode(error);
            metrics.graphqlError(code, "http");
            if (code === ErrorCode.INTERNAL_SERVER_ERROR) {
              log.error(
                { err: error.originalError ?? error, requestId: contextValue.requestId, operation: operationName ?? null, path: error.path },
                "internal error in a GraphQL operation",
              );
            }
          }
        },
      };
    },
  };
}
