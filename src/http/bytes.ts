/**
 * The HTTP routes that carry bytes rather than GraphQL: upload targets (PUT /uploads/<id>) and
 * downloads (GET/HEAD /files/media/<id>[/thumbnail], /files/file/<id>), both at signed URLs.
 */
import type http from "node:http";
import { pipeline } from "node:stream/promises";
import { UrlSigner } from "../common/signed-url.js";
import type { Readable } from "node:stream";
import type { SignedParams } from "../common/signed-url.js";

type DownloadKind = "media" | "thumbnail" | "file";

/** A download as the media feature answers it (only what this route writes out). */
type DownloadAnswer =
  | {
      ok: true;
      download: { body: Readable; size: number; range: { start: number; end: number } | null; contentType: string; filename: string; inline: boolean };
    }
  | { ok: false; status: number; code: string; message: string };

/** What the byte routes need from the media feature (the root passes its services). */
export interface ByteServices {
  uploads: { receive(id: string, params: SignedParams, contentLength: string | undefined, body: Readable): Promise<{ status: number; body: unknown }> };
  media: { download(kind: DownloadKind, id: string, params: SignedParams, rangeHeader: string | undefined, count?: boolean): Promise<DownloadAnswer> };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

/**
 * Upload targets (PUT) and downloads (GET/HEAD) at signed URLs. The URL is the capability
 * (img tags and PUTs carry no Authorization header). CORS (CORS_ORIGINS) is applied before.
 */
export async function serveBytes(services: ByteServices, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const params = UrlSigner.params(url);
  const upload = /^\/uploads\/([^/]+)$/.exec(url.pathname);
  if (upload) {
    if (req.method !== "PUT") return sendJson(res, 405, { error: { code: "BAD_REQUEST", message: "PUT the bytes here" } });
    const result = await services.uploads.receive(upload[1], params, req.headers["content-length"], req);
    if (!req.complete) res.setHeader("connection", "close");
    return sendJson(res, result.status, result.body);
  }
  const download = /^\/files\/(media|file)\/([^/]+)(\/thumbnail)?$/.exec(url.pathname);
  if (!download || (download[3] && download[1] !== "media")) return sendJson(res, 404, { error: { code: "NOT_FOUND", message: "Not found" } });
  if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: { code: "BAD_REQUEST", message: "GET only" } });
  const kind: DownloadKind = download[3] ? "thumbnail" : download[1] === "media" ? "media" : "file";
  const result = await services.media.download(
    kind,
    download[2],
    params,
    typeof req.headers.range === "string" ? req.headers.range : undefined,
    req.method === "GET",
  );
  if (!result.ok) {
    if (result.status === 416) res.setHeader("content-range", "bytes */*");
    return sendJson(res, result.status, { error: { code: result.code, message: result.message } });
  }
  const d = result.download;
  const length = d.range ? d.range.end - d.range.start + 1 : d.size;
  res.writeHead(d.range ? 206 : 200, {
    "content-type": d.contentType,
    "content-length": String(length),
    "accept-ranges": "bytes",
    ...(d.range ? { "content-range": `bytes ${d.range.start}-${d.range.end}/${d.size}` } : {}),
    "content-disposition": `${d.inline ? "inline" : "attachment"}; filename*=UTF-8''${encodeURIComponent(d.filename)}`,
    "cache-control": "private, max-age=300",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") {
    d.body.destroy();
    res.end();
    return;
  }
  await pipeline(d.body, res).catch(() => undefined);
}
