/**
 * The GraphQL playground: GraphiQL served from installed packages (Apollo's default landing
 * page loads from a CDN, which machines without internet cannot reach). GET /graphql from a
 * browser gets the page; its scripts come from /playground/*.
 */
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import type http from "node:http";
import path from "node:path";

const require = createRequire(import.meta.url);

/** A file inside an installed package (UMD builds are not in the packages' export maps). */
function packageFile(pkg: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
}

const ASSETS: Record<string, { file: string; type: string }> = {
  "/playground/react.js": { file: packageFile("react", "umd/react.production.min.js"), type: "text/javascript; charset=utf-8" },
  "/playground/react-dom.js": { file: packageFile("react-dom", "umd/react-dom.production.min.js"), type: "text/javascript; charset=utf-8" },
  "/playground/graphiql.js": { file: packageFile("graphiql", "graphiql.min.js"), type: "text/javascript; charset=utf-8" },
  "/playground/graphiql.css": { file: packageFile("graphiql", "graphiql.min.css"), type: "text/css; charset=utf-8" },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>LetsApp API — GraphQL playground</title>
  <link rel="stylesheet" href="/playground/graphiql.css" />
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="/playground/react.js"></script>
  <script src="/playground/react-dom.js"></script>
  <script src="/playground/graphiql.js"></script>
  <script>
    const url = new URL("/graphql", location.href).href;
    const subscriptionUrl = url.replace(/^http/, "ws");
    const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });
    const defaultHeaders = JSON.stringify({ Authorization: "Bearer <accessToken from login>" }, null, 2);
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, { fetcher, defaultHeaders, shouldPersistHeaders: true }),
    );
  </script>
</body>
</html>
`;

/** True when the request is a browser asking for the page (not a GET query). */
export function wantsPlayground(req: http.IncomingMessage, url: URL): boolean {
  return req.method === "GET" && url.pathname === "/graphql" && !url.searchParams.has("query") && (req.headers.accept ?? "").includes("text/html");
}

export function servePlayground(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
  res.end(PAGE);
}

/** Serves a playground asset; false when the path is not one. */
export function servePlaygroundAsset(pathname: string, res: http.ServerResponse): boolean {
  const asset = ASSETS[pathname];
  if (!asset) return false;
  res.writeHead(200, { "content-type": asset.type, "cache-control": "public, max-age=86400" });
  createReadStream(asset.file).pipe(res);
  return true;
}
