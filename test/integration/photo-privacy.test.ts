/**
 * Photos over real HTTP (issue 9 §4): metadata (EXIF with GPS, XMP) never reaches a stored or
 * served copy, even when the re-encoded copy is larger than the original; a corrupt or
 * truncated image is BAD_USER_INPUT at completeUpload and removed; IMAGE_MAX_PIXELS is applied
 * before decoding.
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

type Ticket = { uploadId: string; uploadUrl: string };
const GPS_XMP = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.5N"/></rdf:RDF></x:xmpmeta>`;

/** A small, smooth, low-quality JPEG carrying GPS EXIF and XMP: re-encoding it makes it larger. */
async function geotaggedJpeg(): Promise<Buffer> {
  const width = 640;
  const height = 480;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set([x % 256, y % 256, 128], (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 20 })
    .withExif({
      IFD0: { Make: "PhoneCo", Artist: "Jane Doe" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 30/1", GPSLongitudeRef: "E", GPSLongitude: "2/1 17/1 40/1" },
    })
    .withXmp(GPS_XMP)
    .toBuffer();
}

async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 5) * 31) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function storedFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe("photo privacy and image limits", () => {
  let api: TestApi;
  let kit: TestUser;
  const abs = (u: string) => new URL(u, api.url).toString();

  beforeAll(async () => {
    api = await startTestApi();
    kit = await registerUser(api, "kit_p");
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function send(target: TestApi, user: TestUser, name: string, mimeType: string, bytes: Buffer) {
    const t = await target.gql<{ createUpload: Ticket }>(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId uploadUrl } }`,
      { i: { originalFilename: name, mimeType, fileSize: bytes.length } },
      user.token,
    );
    const ticket = t.data!.createUpload;
    expect((await fetch(new URL(ticket.uploadUrl, target.url), { method: "PUT", body: bytes })).status).toBe(200);
    const done = await target.gql<{ completeUpload: { id: string; url: string; thumbnailUrl: string; fileSize: number; width: number; height: number } }>(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { ... on Media { id url thumbnailUrl fileSize width height } } }`,
      { id: ticket.uploadId },
      user.token,
    );
    return { ticket, done };
  }

  it("serves and stores no copy with the GPS position, even when the clean copy is larger", async () => {
    const photo = await geotaggedJpeg();
    const before = await sharp(photo).metadata();
    expect(before.exif).toBeDefined();
    expect(before.xmp).toBeDefined();
    const { done } = await send(api, kit, "holiday.jpg", "image/jpeg", photo);
    expect(done.errors, JSON.stringify(done.errors)).toBeUndefined();
    const media = done.data!.completeUpload;
    expect([media.width, media.height]).toEqual([640, 480]);
    for (const url of [media.url, media.thumbnailUrl]) {
      const bytes = Buffer.from(await (await fetch(abs(url))).arrayBuffer());
      const meta = await sharp(bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(bytes.includes(Buffer.from("GPS"))).toBe(false);
    }
    // Nothing left on disk carries it either (the original was replaced by the clean copy).
    for (const file of await storedFiles(api.config.uploadDir)) {
      const bytes = await readFile(file);
      expect(bytes.includes(Buffer.from("Jane Doe")), file).toBe(false);
      expect(bytes.includes(Buffer.from("GPSLatitude")), file).toBe(false);
    }
  });

  it("refuses a truncated image at completeUpload with BAD_USER_INPUT and removes it", async () => {
    const whole = await noisyJpeg(600, 400);
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    const { ticket, done } = await send(api, kit, "cut.jpg", "image/jpeg", truncated);
    expect(done.errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      fields: [{ field: "uploadId", message: expect.stringMatching(/corrupt or truncated/) }],
    });
    expect(await api.db.models.Upload.exists({ _id: ticket.uploadId })).toBeNull();
    expect(await api.db.models.Media.exists({ _id: ticket.uploadId })).toBeNull();
  });

  it("refuses images over IMAGE_MAX_PIXELS before decoding them, keeping nothing", async () => {
    const small = await startTestApi({ IMAGE_MAX_PIXELS: "10000" }, { shared: { mongo: api.mongo } });
    try {
      const big = await sharp({ create: { width: 200, height: 100, channels: 3, background: "#123456" } })
        .png()
        .toBuffer();
      const { ticket, done } = await send(small, kit, "wide.png", "image/png", big);
      expect(done.errors?.[0]?.extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        fields: [{ field: "uploadId", message: expect.stringMatching(/200×100 pixels; at most 10000/) }],
      });
      expect(await small.db.models.Upload.exists({ _id: ticket.uploadId })).toBeNull();
      expect(await storedFiles(small.config.uploadDir)).toEqual([]);
      const fits = await sharp({ create: { width: 100, height: 100, channels: 3, background: "#123456" } })
        .png()
        .toBuffer();
      expect((await send(small, kit, "ok.png", "image/png", fits)).done.errors).toBeUndefined();
    } finally {
      await small.stop();
    }
  });
});
