/**
 * The S3 storage against a real S3-compatible server over HTTP (s3rver, in-process, on a free
 * port): the storage contract itself, then the whole upload and download flow with S3_* set.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import S3rver from "s3rver";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Storage } from "../../src/storage/s3.js";
import { readAll } from "../../src/storage/blob-storage.js";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";

describe("S3-compatible storage", () => {
  let server: S3rver;
  let dir: string;
  let endpoint: string;
  let storage: S3Storage;
  const env = () => ({ S3_BUCKET: "letsapp", S3_ENDPOINT: endpoint, S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER", S3_REGION: "us-east-1" });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "letsapp-s3-"));
    server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: "letsapp" }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    storage = new S3Storage({ bucket: "letsapp", region: "us-east-1", endpoint, accessKeyId: "S3RVER", secretAccessKey: "S3RVER", forcePathStyle: true });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores, reads (whole and ranges), sizes and deletes objects", async () => {
    const bytes = Buffer.from("0123456789".repeat(100));
    await storage.put("u/abc", Readable.from([bytes.subarray(0, 400), bytes.subarray(400)]), bytes.length, "text/plain");
    expect(await storage.size("u/abc")).toBe(1000);
    expect(await readAll((await storage.get("u/abc"))!)).toEqual(bytes);
    expect(await readAll((await storage.get("u/abc", { start: 10, end: 19 }))!)).toEqual(bytes.subarray(10, 20));
    await storage.delete("u/abc");
    expect(await storage.size("u/abc")).toBeNull();
    expect(await storage.get("u/abc")).toBeNull();
    await storage.delete("u/abc"); // already gone: no error
  });

  it("keeps nothing of a stream that fails part-way", async () => {
    const body = new PassThrough();
    // Part-way: the store has the PUT (and its first bytes) when the client goes away.
    const arrived = new Promise<void>((resolve) => {
      const onRequest = (req: { method?: string; url?: string }) => {
        if (req.method !== "PUT" || !req.url?.includes("u/broken")) return;
        server.httpServer.off("request", onRequest);
        resolve();
      };
      server.httpServer.on("request", onRequest);
    });
    const putting = storage.put("u/broken", body, 1000, "text/plain");
    body.write(Buffer.alloc(300, 1));
    await arrived;
    body.destroy(new Error("client went away"));
    await expect(putting).rejects.toThrow("client went away");
    expect(await storage.size("u/broken")).toBeNull();
  });

  it("serves the whole upload flow from S3 when S3_BUCKET is set", async () => {
    let api: TestApi | undefined;
    try {
      api = await startTestApi(env());
      const kim = await registerUser(api, "kim");
      const png = await sharp({ create: { width: 64, height: 40, channels: 3, background: "#aa3322" } })
        .png()
        .toBuffer();
      const t = await api.gql<{ createUpload: { uploadId: string; uploadUrl: string } }>(
        `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId uploadUrl } }`,
        { i: { originalFilename: "dot.png", mimeType: "image/png", fileSize: png.length } },
        kim.token,
      );
      expect((await fetch(new URL(t.data!.createUpload.uploadUrl, api.url), { method: "PUT", body: png })).status).toBe(200);
      const done = await api.gql<{ completeUpload: { id: string; width: number; url: string; thumbnailUrl: string } }>(
        `mutation($id: ID!) { completeUpload(uploadId: $id) { ... on Media { id width url thumbnailUrl } } }`,
        { id: t.data!.createUpload.uploadId },
        kim.token,
      );
      expect(done.errors, JSON.stringify(done.errors)).toBeUndefined();
      expect(done.data?.completeUpload.width).toBe(64);
      const stored = await api.db.models.Media.findById(done.data!.completeUpload.id).lean();
      expect(await storage.size(stored!.filename)).toBe(stored!.file_size);
      expect(await storage.size(stored!.thumbnail!)).toBeGreaterThan(0);
      const got = await fetch(new URL(done.data!.completeUpload.url, api.url));
      expect(Buffer.from(await got.arrayBuffer()).length).toBe(stored!.file_size);
      expect((await fetch(new URL(done.data!.completeUpload.thumbnailUrl, api.url))).headers.get("content-type")).toBe("image/webp");
      await api.gql(`mutation($id: ID!) { deleteMedia(id: $id) }`, { id: stored!._id.toHexString() }, kim.token);
      expect(await storage.size(stored!.filename)).toBeNull();
    } finally {
      await api?.stop();
    }
  });
});
