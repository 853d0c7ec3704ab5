/**
 * GET /schema.graphql: the SDL of the served schema, for codegen and for the playground's
 * "download SDL". It tells what introspection tells, so GRAPHQL_INTROSPECTION=false hides it too.
 */
import type http from "node:http";
import { printSchema, type GraphQLSchema } from "graphql";

const printed = new WeakMap<GraphQLSchema, string>();

export function serveSchema(schema: GraphQLSchema, introspection: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (!introspection) {
    res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ error: "the schema is not published (GRAPHQL_INTROSPECTION=false)" }));
    return;
  }
  let sdl = printed.get(schema);
  if (sdl === undefined) printed.set(schema, (sdl = printSchema(schema) + "\n"));
  const download = new URL(req.url ?? "/", "http://localhost").searchParams.has("download");
  res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-cache",
    ...(download ? { "content-disposition": 'attachment; filename="schema.graphql"' } : {}),
  });
  res.end(req.method === "HEAD" ? undefined : sdl);
}
