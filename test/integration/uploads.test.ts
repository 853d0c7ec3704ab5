/**
 * Uploads and downloads over real HTTP: the two-step upload (ticket, PUT of the raw bytes,
 * completion with sniffing and thumbnails), signed downloads with Range and counters, access
 * through messages, deletion, and every refusal leaving nothing behind.
 */
import http from "node:http";
import { readdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl } from "../helpers/ws.js";
import { listening, topic } from "../helpers/topics.js";
import { clockPast } from "../helpers/wait.js";
import { UrlSigner } from "../../src/common/signed-url.js";

type Ticket = { uploadId: string; uploadUrl: string; expiresAt: string; maxBytes: number };
const MEDIA_FIELDS = `__typename ... on Media { id filename originalFilename fileSize mediaType mimeType width height viewCount optimized url thumbnailUrl uploader { username } } ... on File { id originalFilename fileSize mimeType downloadCount url }`;

async function jpeg(width: number, height: number): Promise<Buffer> {
  // Noise compresses badly: a realistic photo-sized file.
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 5) * 31) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100 })
    .toBuffer();
}

/** A mono 16-bit PCM WAV of the given length in seconds (8 kHz). */
function wav(seconds: number): Buffer {
  const rate = 8000;
  const data = Buffer.alloc(Math.round(seconds * rate) * 2);
  for (let i = 0; i < data.length / 2; i++) data.writeInt16LE(Math.round(Math.sin(i / 5) * 8000), i * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const PDF = Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** A PUT with a chunked body (no Content-Length), as a streaming client sends it. */
function putChunked(url: string, chunks: Buffer[]): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "PUT", headers: { "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe("uploads and downloads", () => {
  let api: TestApi;
  let kim: TestUser, lou: TestUser, max: TestUser;
  let photo: Buffer;
  const abs = (u: string) => new URL(u, api.url).toString();

  const createUpload = (u: TestUser, input: Record<string, unknown>) =>
    api.gql<{ createUpload: Ticket }>(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId uploadUrl expiresAt maxBytes } }`,
      { i: input },
      u.token,
    );
  const complete = (u: TestUser, uploadId: string) =>
    api.gql<{ completeUpload: Record<string, unknown> & { id: string; url: string; thumbnailUrl?: string } }>(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { ${MEDIA_FIELDS} } }`,
      { id: uploadId },
      u.token,
    );
  const put = (ticket: Ticket, body: Buffer) => fetch(abs(ticket.uploadUrl), { method: "PUT", body });
  /** The whole flow; returns the completed Media or File. */
  const upload = async (u: TestUser, name: string, mimeType: string, bytes: Buffer) => {
    const t = await createUpload(u, { originalFilename: name, mimeType, fileSize: bytes.length });
    expect(t.errors, JSON.stringify(t.errors)).toBeUndefined();
    const res = await put(t.data!.createUpload, bytes);
    expect(res.status, await res.clone().text()).toBe(200);
    const done = await complete(u, t.data!.createUpload.uploadId);
    expect(done.errors, JSON.stringify(done.errors)).toBeUndefined();
    return done.data!.completeUpload;
  };
  const codeOf = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => r.errors?.[0]?.extensions?.code;

  beforeAll(async () => {
    api = await startTestApi();
    [kim, lou, max] = await Promise.all(["kim", "lou", "max"].map((n) => registerUser(api, n)));
    photo = await jpeg(1200, 800);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("uploads an image in two steps: dimensions, a thumbnail, and an optimised copy", async () => {
    const t = await createUpload(kim, { originalFilename: "beach.jpg", mimeType: "image/jpeg", fileSize: photo.length });
    const ticket = t.data!.createUpload;
    expect(ticket).toMatchObject({ maxBytes: photo.length, uploadUrl: expect.stringContaining(`/uploads/${ticket.uploadId}?u=${kim.id}&exp=`) });
    expect(new Date(ticket.expiresAt).getTime()).toBeGreaterThan(Date.now());
    // Completing before the bytes arrived is refused, and changes nothing.
    expect((await complete(kim, ticket.uploadId)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "uploadId" }] });
    const res = await put(ticket, photo);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, size: photo.length });
    // The bytes are in: a second PUT is refused.
    expect((await put(ticket, photo)).status).toBe(409);

    const media = (await complete(kim, ticket.uploadId)).data!.completeUpload;
    expect(media).toMatchObject({
      __typename: "Media",
      id: ticket.uploadId,
      originalFilename: "beach.jpg",
      mediaType: "IMAGE",
      mimeType: "image/jpeg",
      width: 1200,
      height: 800,
      viewCount: 0,
      optimized: true,
      uploader: { username: "kim" },
    });
    expect(media.filename).not.toContain("beach");
    expect(media.fileSize as number).toBeLessThan(photo.length);
    // A retried completion returns the same item.
    expect((await complete(kim, ticket.uploadId)).data?.completeUpload.id).toBe(ticket.uploadId);

    const got = await fetch(abs(media.url));
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("image/jpeg");
    expect(got.headers.get("accept-ranges")).toBe("bytes");
    const bytes = Buffer.from(await got.arrayBuffer());
    expect(bytes.length).toBe(media.fileSize);
    expect((await sharp(bytes).metadata()).width).toBe(1200);

    const thumb = await fetch(abs(media.thumbnailUrl!));
    expect(thumb.headers.get("content-type")).toBe("image/webp");
    const tm = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([tm.width, tm.height]).toEqual([320, 213]);

    // Ranges: partial content; only the first range of a download counts as a view.
    const part = await fetch(abs(media.url), { headers: { range: "bytes=0-99" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-99/${media.fileSize}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 100));
    const tail = await fetch(abs(media.url), { headers: { range: "bytes=100-" } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(100));
    expect((await fetch(abs(media.url), { headers: { range: `bytes=${bytes.length + 5}-` } })).status).toBe(416);
    const again = await api.gql<{ media: { viewCount: number } }>(`query($id: ID!) { media(id: $id) { viewCount } }`, { id: media.id }, kim.token);
    expect(again.data?.media.viewCount).toBe(2);
    const stored = await api.db.models.Media.findById(media.id).lean();
    expect(stored).toMatchObject({ view_count: 2, width: 1200, height: 800, optimized: true, is_deleted: false });
  });

  it("uploads audio as Media with its duration, and serves it in ranges", async () => {
    const audio = wav(1.5);
    const media = await upload(kim, "voice note.wav", "audio/x-wav", audio);
    expect(media).toMatchObject({
      __typename: "Media",
      mediaType: "AUDIO",
      mimeType: "audio/wav",
      fileSize: audio.length,
      width: null,
      thumbnailUrl: null,
      optimized: false,
    });
    const q = await api.gql<{ media: { duration: number } }>(`query($id: ID!) { media(id: $id) { duration } }`, { id: media.id }, kim.token);
    expect(q.data?.media.duration).toBeCloseTo(1.5, 2);
    const part = await fetch(abs(media.url), { headers: { range: "bytes=-44" } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(audio.subarray(audio.length - 44));
    expect(part.headers.get("content-type")).toBe("audio/wav");
  });

  it("uploads a document as a File; downloads count and come as attachments", async () => {
    const file = await upload(kim, "minutes.pdf", "application/pdf", PDF);
    expect(file).toMatchObject({ __typename: "File", originalFilename: "minutes.pdf", mimeType: "application/pdf", fileSize: PDF.length, downloadCount: 0 });
    const text = await upload(kim, "notes.txt", "text/plain", Buffer.from("plain words\n"));
    expect(text).toMatchObject({ __typename: "File", mimeType: "text/plain" });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(abs(file.url));
      expect(res.headers.get("content-disposition")).toBe(`attachment; filename*=UTF-8''minutes.pdf`);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PDF);
    }
    // HEAD tells the size without counting a download; browsers may PUT from other origins.
    const head = await fetch(abs(file.url), { method: "HEAD" });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, String(PDF.length)]);
    const preflight = await fetch(abs(file.url), { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "PUT" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT");
    const after = await api.gql<{ file: { downloadCount: number } }>(`query($id: ID!) { file(id: $id) { downloadCount } }`, { id: file.id }, kim.token);
    expect(after.data?.file.downloadCount).toBe(3);
  });

  it("gives access through messages, and takes it away with the message, the item or the signature", async () => {
    const media = await upload(kim, "pic.jpg", "image/jpeg", photo);
    const doc = await upload(kim, "plan.pdf", "application/pdf", PDF);
    // Before it is shared, nobody else sees it.
    expect(codeOf(await api.gql(`query($id: ID!) { media(id: $id) { id } }`, { id: media.id }, lou.token))).toBe("NOT_FOUND");
    const sent = await api.gql<{ sendMessage: { id: string } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`,
      { i: { recipientId: lou.id, messageType: "IMAGE", attachmentId: media.id } },
      kim.token,
    );
    expect(sent.errors).toBeUndefined();
    await api.gql(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`,
      { i: { recipientId: lou.id, messageType: "DOCUMENT", attachmentId: doc.id } },
      kim.token,
    );
    expect((await api.db.models.Media.findById(media.id).lean())?.message_id?.toHexString()).toBe(sent.data!.sendMessage.id);

    const seen = await api.gql<{ media: { url: string } }>(`query($id: ID!) { media(id: $id) { url } }`, { id: media.id }, lou.token);
    const louUrl = abs(seen.data!.media.url);
    expect((await fetch(louUrl)).status).toBe(200);
    const louFile = await api.gql<{ file: { url: string } }>(`query($id: ID!) { file(id: $id) { url } }`, { id: doc.id }, lou.token);
    expect((await fetch(abs(louFile.data!.file.url))).status).toBe(200);
    // Not the uploader: may read, may not delete.
    expect(codeOf(await api.gql(`mutation($id: ID!) { deleteMedia(id: $id) }`, { id: media.id }, lou.token))).toBe("FORBIDDEN");
    expect(codeOf(await api.gql(`mutation($id: ID!) { deleteMedia(id: $id) }`, { id: media.id }, max.token))).toBe("NOT_FOUND");

    // Tampered URLs: another user, another item, another signature.
    const u = new URL(louUrl);
    const asMax = new URL(u);
    asMax.searchParams.set("u", max.id);
    expect((await fetch(asMax)).status).toBe(403);
    const otherItem = new URL(u);
    otherItem.pathname = `/files/media/${doc.id}`;
    expect((await fetch(otherItem)).status).toBe(403);
    const badSig = new URL(u);
    badSig.searchParams.set("sig", "A".repeat(43));
    const refused = await fetch(badSig);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "INVALID_TOKEN" } });
    // A correctly signed URL past its expiry.
    const expired = new UrlSigner(api.config.jwtSecret, api.config.downloadUrlTtlSeconds, "").sign(u.pathname, lou.id, Date.now() - 2 * 3600_000);
    const late = await fetch(abs(expired.url));
    expect(late.status).toBe(403);
    expect(await late.json()).toMatchObject({ error: { code: "INVALID_TOKEN", message: expect.stringContaining("expired") } });

    // A URL signed for someone who has no access (a stranger): 404, as if it did not exist.
    const forMax = new UrlSigner(api.config.jwtSecret, api.config.downloadUrlTtlSeconds, "").sign(u.pathname, max.id);
    expect((await fetch(abs(forMax.url))).status).toBe(404);

    // The message is deleted: lou's access goes with it.
    const del = await api.gql(`mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: sent.data!.sendMessage.id }, kim.token);
    expect(del.errors, JSON.stringify(del.errors)).toBeUndefined();
    expect((await fetch(louUrl)).status).toBe(404);

    // The uploader deletes the file: gone for everyone, bytes included.
    const stored = await api.db.models.File.findById(doc.id).lean();
    expect(await filesUnder(api.config.uploadDir)).toContain(stored!.filename);
    const gone = await api.gql<{ deleteFile: boolean }>(`mutation($id: ID!) { deleteFile(id: $id) }`, { id: doc.id }, kim.token);
    expect(gone.data?.deleteFile).toBe(true);
    expect((await fetch(abs(louFile.data!.file.url))).status).toBe(404);
    expect(await filesUnder(api.config.uploadDir)).not.toContain(stored!.filename);
    expect(codeOf(await api.gql(`query($id: ID!) { file(id: $id) { id } }`, { id: doc.id }, kim.token))).toBe("NOT_FOUND");
    expect(codeOf(await api.gql(`mutation($id: ID!) { deleteFile(id: $id) }`, { id: doc.id }, kim.token))).toBe("NOT_FOUND");

    // A profile picture is readable by anyone signed in, until it is deleted (kim shows it to
    // everyone: max is not kim's contact, and the default is contacts only).
    expect((await api.gql(`mutation { updateSettings(input: { profilePictureVisibility: EVERYONE }) { id } }`, {}, kim.token)).errors).toBeUndefined();
    const avatar = await upload(kim, "me.jpg", "image/jpeg", photo);
    await api.gql(`mutation($p: ID) { updateProfile(input: { profilePictureId: $p }) { id } }`, { p: avatar.id }, kim.token);
    const viaUser = await api.gql<{ user: { profilePicture: { url: string } } }>(
      `query($id: ID!) { user(id: $id) { profilePicture { url } } }`,
      { id: kim.id },
      max.token,
    );
    const avatarUrl = abs(viaUser.data!.user.profilePicture.url);
    expect((await fetch(avatarUrl)).status).toBe(200);
    expect((await api.gql<{ deleteMedia: boolean }>(`mutation($id: ID!) { deleteMedia(id: $id) }`, { id: avatar.id }, kim.token)).data?.deleteMedia).toBe(true);
    expect((await fetch(avatarUrl)).status).toBe(404);
    const cleared = await api.gql<{ me: { profilePicture: null } }>(`{ me { profilePicture { id } } }`, {}, kim.token);
    expect(cleared.data?.me.profilePicture).toBeNull();
  });

  it("signs each live subscriber's attachment URL for that subscriber", async () => {
    const g = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "Photos", memberIds: [lou.id, max.id] } },
      kim.token,
    );
    const groupId = g.data!.createGroup.id;
    const media = await upload(kim, "group.jpg", "image/jpeg", photo);
    // Both live (graphql-ws acknowledges no subscribe) once the server listens on the group twice.
    const subs = await listening(api, [topic("CONVERSATION", groupId), topic("CONVERSATION", groupId)], () =>
      Promise.all(
        [lou, max].map(async (u) => {
          const c = await connectWs(wsUrl(api.url), u.token);
          return {
            c,
            u,
            sub: c.subscribe<{ messageAdded: { attachment: { url: string } } }>(
              `subscription($c: ID) { messageAdded(conversationId: $c) { attachment { ... on Media { url } } } }`,
              { c: groupId },
            ),
          };
        }),
      ),
    );
    const sent = await api.gql(
      `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id } }`,
      { i: { groupId, messageType: "IMAGE", attachmentId: media.id } },
      kim.token,
    );
    expect(sent.errors).toBeUndefined();
    for (const { c, u, sub } of subs) {
      const url = new URL((await sub.next()).data!.messageAdded.attachment.url, api.url);
      expect(url.searchParams.get("u")).toBe(u.id);
      expect((await fetch(url)).status).toBe(200);
      await c.close();
    }
  });

  it("refuses bad uploads with a clear error and keeps nothing of them", async () => {
    const before = await filesUnder(api.config.uploadDir);
    const docsBefore = (await api.db.models.Media.countDocuments()) + (await api.db.models.File.countDocuments());

    // Declared input.
    const bad = async (input: Record<string, unknown>, field: string) => {
      const r = await createUpload(kim, input);
      expect(r.errors?.[0]?.extensions, JSON.stringify(r.errors)).toMatchObject({
        code: "BAD_USER_INPUT",
        fields: expect.arrayContaining([expect.objectContaining({ field })]),
      });
    };
    await bad({ originalFilename: "../../etc/passwd", mimeType: "text/plain", fileSize: 10 }, "originalFilename");
    await bad({ originalFilename: "", mimeType: "text/plain", fileSize: 10 }, "originalFilename");
    await bad({ originalFilename: "a.txt", mimeType: "not a type", fileSize: 10 }, "mimeType");
    await bad({ originalFilename: "a.bmp", mimeType: "image/bmp", fileSize: 10 }, "mimeType");
    await bad({ originalFilename: "a.txt", mimeType: "text/plain", fileSize: 0 }, "fileSize");
    await bad({ originalFilename: "huge.mp4", mimeType: "video/mp4", fileSize: 25 * 1024 * 1024 + 1 }, "fileSize");

    // A spoofed type: JPEG bytes declared as PNG.
    const spoof = await createUpload(kim, { originalFilename: "x.png", mimeType: "image/png", fileSize: photo.length });
    expect((await put(spoof.data!.createUpload, photo)).status).toBe(200);
    const spoofed = await complete(kim, spoof.data!.createUpload.uploadId);
    expect(spoofed.errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      fields: [{ field: "mimeType", message: expect.stringContaining("image/jpeg") }],
    });
    // Refused means removed: the ticket is gone too.
    expect(codeOf(await complete(kim, spoof.data!.createUpload.uploadId))).toBe("NOT_FOUND");

    // Not an image at all, claiming image/png; not a PDF, claiming application/pdf.
    for (const [name, mimeType] of [
      ["fake.png", "image/png"],
      ["fake.pdf", "application/pdf"],
    ]) {
      const text = Buffer.from("this is just text, honestly\n".repeat(20));
      const t = await createUpload(kim, { originalFilename: name, mimeType, fileSize: text.length });
      expect((await put(t.data!.createUpload, text)).status).toBe(200);
      expect((await complete(kim, t.data!.createUpload.uploadId)).errors?.[0]?.extensions).toMatchObject({
        code: "BAD_USER_INPUT",
        fields: [{ field: "mimeType" }],
      });
    }
    // An executable (ELF) declared as text.
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
    const exe = await createUpload(kim, { originalFilename: "run.txt", mimeType: "text/plain", fileSize: elf.length });
    await put(exe.data!.createUpload, elf);
    expect(codeOf(await complete(kim, exe.data!.createUpload.uploadId))).toBe("BAD_USER_INPUT");

    // Oversize: by Content-Length (refused before reading) and while streaming (chunked).
    const small = await createUpload(kim, { originalFilename: "s.pdf", mimeType: "application/pdf", fileSize: PDF.length });
    const ticket = small.data!.createUpload;
    const big = Buffer.concat([PDF, Buffer.alloc(5000, 0x20)]);
    const tooBig = await put(ticket, big);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: "BAD_USER_INPUT" } });
    const streamed = await putChunked(abs(ticket.uploadUrl), [PDF, Buffer.alloc(3000, 0x20), Buffer.alloc(3000, 0x20)]);
    expect(streamed.status).toBe(413);
    // Truncated: fewer bytes than declared.
    const short = await put(ticket, PDF.subarray(0, 20));
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({
      error: { code: "BAD_USER_INPUT", message: expect.stringContaining(`Got 20 of the declared ${PDF.length} bytes`) },
    });
    expect(codeOf(await complete(kim, ticket.uploadId))).toBe("BAD_USER_INPUT");
    // Nothing half-stored: the same ticket still takes the right bytes.
    expect((await putChunked(abs(ticket.uploadUrl), [PDF.subarray(0, 10), PDF.subarray(10)])).status).toBe(200);
    const ok = await complete(kim, ticket.uploadId);
    expect(ok.data?.completeUpload).toMatchObject({ __typename: "File", fileSize: PDF.length });

    // Tampered upload URLs.
    const t2 = (await createUpload(kim, { originalFilename: "t.pdf", mimeType: "application/pdf", fileSize: PDF.length })).data!.createUpload;
    const forged = new URL(abs(t2.uploadUrl));
    forged.searchParams.set("exp", String(Number(forged.searchParams.get("exp")) + 3600));
    expect((await fetch(forged, { method: "PUT", body: PDF })).status).toBe(403);
    const stolen = new URL(abs(t2.uploadUrl));
    stolen.searchParams.set("u", max.id);
    expect((await fetch(stolen, { method: "PUT", body: PDF })).status).toBe(403);
    // Someone else's upload cannot be completed by another user.
    await put(t2, PDF);
    expect(codeOf(await complete(max, t2.uploadId))).toBe("NOT_FOUND");
    expect(codeOf(await complete(kim, "zzz"))).toBe("BAD_USER_INPUT");

    // Only the File completed above and t2's bytes (a pending ticket) are new on disk.
    const docsAfter = (await api.db.models.Media.countDocuments()) + (await api.db.models.File.countDocuments());
    expect(docsAfter).toBe(docsBefore + 1);
    const added = (await filesUnder(api.config.uploadDir)).filter((f) => !before.includes(f));
    const okFile = await api.db.models.File.findById(ok.data!.completeUpload.id).lean();
    const pending = await api.db.models.Upload.findById(t2.uploadId).lean();
    expect(added.sort()).toEqual([okFile!.filename, pending!.storage_key].sort());
    expect(added.some((f) => f.endsWith(".part"))).toBe(false);
  });

  it("refuses a PUT after the upload URL expired, and purges tickets never completed", async () => {
    const shortLived = await startTestApi({ UPLOAD_URL_TTL_SECONDS: "1" }, { shared: { mongo: api.mongo } });
    try {
      const t = await shortLived.gql<{ createUpload: Ticket }>(
        `mutation { createUpload(input: { originalFilename: "late.pdf", mimeType: "application/pdf", fileSize: ${PDF.length} }) { uploadId uploadUrl } }`,
        {},
        kim.token,
      );
      const ticket = t.data!.createUpload;
      // The URL's own expiry (exp, in seconds) is passed.
      await clockPast(Number(new URL(ticket.uploadUrl, shortLived.url).searchParams.get("exp")) * 1000);
      const late = await fetch(new URL(ticket.uploadUrl, shortLived.url), { method: "PUT", body: PDF });
      expect(late.status).toBe(403);
      expect(await late.json()).toMatchObject({ error: { code: "INVALID_TOKEN", message: expect.stringContaining("expired") } });
      expect(await filesUnder(shortLived.config.uploadDir)).toEqual([]);
      // Past its purge time, the ticket goes.
      expect(await shortLived.server.services.uploads.purgeExpired(new Date(Date.now() + 2 * 3600_000))).toBeGreaterThanOrEqual(1);
      expect(await shortLived.db.models.Upload.exists({ _id: ticket.uploadId })).toBeNull();
    } finally {
      await shortLived.stop();
    }
  });

  it("resolves attachments through a loader: 50 messages cost the same commands as 5", async () => {
    const crowd = await registerUser(api, "crowd");
    const conv = await api.gql<{ sendMessage: { conversationId: string } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { conversationId } }`,
      { i: { recipientId: crowd.id, content: "hi" } },
      lou.token,
    );
    const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#336699" } })
      .png()
      .toBuffer();
    for (let i = 0; i < 50; i++) {
      const from = i % 2 ? lou : crowd;
      const to = i % 2 ? crowd : lou;
      const m = await upload(from, `p${i}.png`, "image/png", small);
      const r = await api.gql(
        `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`,
        { i: { recipientId: to.id, messageType: "IMAGE", attachmentId: m.id } },
        from.token,
      );
      expect(r.errors).toBeUndefined();
    }
    const query = (n: number) =>
      api.gql<{ messages: { edges: Array<{ node: { attachment: { url: string; width: number; uploader: { username: string } } } }> } }>(
        `query($c: ID!, $n: Int) { messages(conversationId: $c, last: $n) { edges { node { sender { username } attachment { ... on Media { url width thumbnailUrl uploader { username } } } } } } }`,
        { c: conv.data!.sendMessage.conversationId, n },
        lou.token,
      );
    let five: Awaited<ReturnType<typeof query>> | undefined;
    let fifty: Awaited<ReturnType<typeof query>> | undefined;
    await query(5); // warm-up (the session check's first read)
    const c5 = await countCommands(api, async () => (five = await query(5)));
    const c50 = await countCommands(api, async () => (fifty = await query(50)));
    expect(five!.data!.messages.edges).toHaveLength(5);
    expect(fifty!.data!.messages.edges).toHaveLength(50);
    expect(fifty!.data!.messages.edges.every((e) => e.node.attachment.width === 8)).toBe(true);
    expect(c50).toEqual(c5);
  });
});
