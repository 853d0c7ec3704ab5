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

/** A small speech bubble: the page's (and /favicon.ico's) icon, so browsers stop asking for one in vain. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#e10098"/><path d="M14 18h36a4 4 0 0 1 4 4v18a4 4 0 0 1-4 4H30l-10 8v-8h-6a4 4 0 0 1-4-4V22a4 4 0 0 1 4-4z" fill="#fff"/></svg>`;

/** The first tabs: an account (register, or login), then `me` with the token, then a live subscription. */
const DEFAULT_TABS = [
  {
    query: `# Welcome to the LetsApp API. 1) Create an account (or use Login below with an existing one).
# 2) Copy accessToken into the Headers tab below as  { "Authorization": "Bearer <accessToken>" }
# 3) Open the next tabs: Me, then a live subscription (sent over WebSocket with the same header).
mutation Register {
  register(input: { username: "ada", email: "ada@example.com", password: "correct-horse-1" }) {
    accessToken
    refreshToken
    user { id username }
  }
}

mutation Login {
  login(input: { login: "ada", password: "correct-horse-1" }) {
    accessToken
    user { id username }
  }
}
`,
  },
  {
    query: "# Needs the Authorization header (see the first tab).\nquery Me {\n  me {\n    id\n    username\n    email\n  }\n}\n",
    headers: '{\n  "Authorization": "Bearer <accessToken>"\n}',
  },
  {
    query:
      "# Runs over WebSocket (graphql-ws); send a message from another tab or client to see it arrive.\nsubscription NewMessages {\n  messageAdded {\n    id\n    seq\n    content\n    sender { username }\n  }\n}\n",
    headers: '{\n  "Authorization": "Bearer <accessToken>"\n}',
  },
];

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>LetsApp API — GraphQL playground</title>
  <link rel="icon" type="image/svg+xml" href="/playground/favicon.svg" />
  <link rel="stylesheet" href="/playground/graphiql.css" />
  <style>
    html, body, #graphiql { height: 100%; margin: 0; }
    #sdl { position: fixed; right: 12px; bottom: 8px; z-index: 10; font: 12px sans-serif; color: #888; }
  </style>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <a id="sdl" href="/schema.graphql?download" download="schema.graphql">Download schema (SDL)</a>
  <script src="/playground/react.js"></script>
  <script src="/playground/react-dom.js"></script>
  <script src="/playground/graphiql.js"></script>
  <script>
    const url = new URL("/graphql", location.href).href;
    const subscriptionUrl = url.replace(/^http/, "ws");
    const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl });
    const defaultTabs = ${JSON.stringify(DEFAULT_TABS).replace(/</g, "\\u003c")};
    // Headers (tokens) are not kept in localStorage unless the user turns that on in the settings.
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, { fetcher, defaultTabs, shouldPersistHeaders: false }),
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
  if (pathname === "/playground/favicon.svg" || pathname === "/favicon.ico") {
    res.writeHead(200, { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" });
    res.end(FAVICON);
    return true;
  }
  const asset = ASSETS[pathname];
  if (!asset) return false;
  res.writeHead(200, { "content-type": asset.type, "cache-control": "public, max-age=86400" });
  createReadStream(asset.file).pipe(res);
  return true;
}
