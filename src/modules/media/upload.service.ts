/**
 * Uploads in two steps, the way object stores do it:
 * 1. createUpload checks what the client declares (name, MIME type, size) and hands out a
 *    ticket with a signed, expiring PUT URL;
 * 2. the client PUTs the raw bytes there: they stream to storage, bounded by the declared
 *    size (more is refused while it arrives, less is refused at the end, and either way no
 *    byte stays stored);
 * 3. completeUpload sniffs the real type from the bytes (file-type) and refuses a mismatch,
 *    measures and thumbnails images (sharp), reads the duration of audio and video
 *    (music-metadata), and creates the Media or File document with the ticket's id. A refused upload is removed entirely: no orphan bytes, no orphan documents.
 */
import { randomBytes } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import { fileTypeFromBuffer } from "file-type";
import { parseStream } from "music-metadata";
import { BACKGROUND_COMMENT, type Database, type Models, type TxnSession } from "../../common/database.js";
import { AppError, ErrorCode, badInput, notFound, type FieldError } from "../../errors.js";
import { parseId } from "../../common/ids.js";
import type { RateLimiter, RateRule } from "../../auth/rate-limiter.js";
import type { UrlSigner, SignedParams } from "../../common/signed-url.js";
import { type BlobStorage, readAll } from "../../storage/blob-storage.js";
import { type FileItem, type Media, MediaType } from "./media.entity.js";
import type { Upload } from "./upload.entity.js";
import { KNOWN_TO_SNIFFER, container, mediaTypeOf, normalizeMime } from "./mime.js";
import { type ImageRefusal, analyzeImage } from "./image.js";

/** Bytes file-type needs to recognise every format it knows. */
const SNIFF_BYTES = 4100;
/** A ticket not completed is purged this long after its URL expired. */
const PURGE_AFTER_MS = 60 * 60 * 1000;

export interface UploadTicketView {
  uploadId: string;
  uploadUrl: string;
  expiresAt: Date;
  maxBytes: number;
}

export interface CreateUploadArgs {
  originalFilename: string;
  mimeType: string;
  fileSize: number;
}

/** The HTTP answer to a PUT of upload bytes. */
export interface PutResult {
  status: number;
  body: { ok: true; size: number } | { error: { code: string; message: string } };
}

const putError = (status: number, code: ErrorCode | string, message: string): PutResult => ({ status, body: { error: { code, message } } });

/** Passes bytes through, failing once more than `limit` went by. */
function limiter(limit: number, counted: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      counted.bytes += chunk.length;
      if (counted.bytes > limit) done(Object.assign(new Error("upload larger than declared"), { tooLarge: true }));
      else done(null, chunk);
    },
  });
}

export interface UploadOptions {
  maxBytes: number;
  /** Uploads a user may start per window: each reserves storage until it is completed or purged. */
  limiter: RateLimiter;
  perUser: RateRule;
  /** Largest image accepted, in pixels (IMAGE_MAX_PIXELS). */
  imageMaxPixels: number;
  onError: (err: unknown) => void;
}

export class UploadService {
  private purger: NodeJS.Timeout | null = null;

  constructor(
    private readonly models: Models,
    private readonly storage: BlobStorage,
    private readonly signer: UrlSigner,
    private readonly options: UploadOptions,
    private readonly db: Pick<Database, "transaction">,
  ) {}

  startTimers(): void {
    this.purger = setInterval(() => void this.purgeExpired().catch(this.options.onError), 60_000);
    this.purger.unref();
  }

  stopTimers(): void {
    if (this.purger) clearInterval(this.purger);
  }

  async create(viewerId: string, input: CreateUploadArgs): Promise<UploadTicketView> {
    // The name's and type's shape are checked on CreateUploadInput; the size limit is configuration.
    const name = input.originalFilename.trim();
    const mime = normalizeMime(input.mimeType);
    if (!Number.isInteger(input.fileSize) || input.fileSize < 1 || input.fileSize > this.options.maxBytes) {
      throw badInput([{ field: "fileSize", message: `between 1 and ${this.options.maxBytes} bytes` }]);
    }
    await this.options.limiter.hit(`upload:user:${viewerId}`, this.options.perUser);

    const id = new Types.ObjectId();
    const { url, expiresAt } = this.signer.sign(`/uploads/${id.toHexString()}`, viewerId);
    await this.models.Upload.create({
      _id: id,
      uploader_id: new Types.ObjectId(viewerId),
      original_filename: name,
      mime_type: mime,
      file_size: input.fileSize,
      storage_key: `u/${randomBytes(16).toString("hex")}`,
      status: "pending",
      expires_at: expiresAt,
      purge_at: new Date(expiresAt.getTime() + PURGE_AFTER_MS),
    });
    return { uploadId: id.toHexString(), uploadUrl: url, expiresAt, maxBytes: input.fileSize };
  }

  /** The PUT of an upload's bytes (HTTP, not GraphQL). */
  async receive(id: string, params: SignedParams, contentLength: string | undefined, body: Readable): Promise<PutResult> {
    const verdict = this.signer.verify(`/uploads/${id}`, params);
    if (verdict === "expired") return putError(403, ErrorCode.INVALID_TOKEN, "This upload URL has expired; create a new upload");
    if (verdict !== "ok" || !Types.ObjectId.isValid(id)) return putError(403, ErrorCode.INVALID_TOKEN, "This upload URL is not valid");
    const upload = await this.models.Upload.findOne({ _id: new Types.ObjectId(id), uploader_id: new Types.ObjectId(params.u!) });
    if (!upload) return putError(404, ErrorCode.NOT_FOUND, "Upload not found");
    if (contentLength !== undefined && Number(contentLength) > upload.file_size) {
      return putError(413, ErrorCode.BAD_USER_INPUT, `The body is larger than the declared ${upload.file_size} bytes`);
    }
    // One PUT at a time, and only before the bytes are in.
    const claimed = await this.models.Upload.findOneAndUpdate(
      { _id: upload._id, status: "pending" },
      { $set: { status: "uploading" } },
      { returnDocument: "after" },
    );
    if (!claimed) return putError(409, ErrorCode.CONFLICT, "The bytes of this upload were already sent");

    const counted = { bytes: 0 };
    // The request is piped into our own source, so that a refusal part-way leaves the request
    // itself intact: the rest of its body is drained and the client still gets the answer.
    const source = new PassThrough();
    const passthrough = new PassThrough();
    const aborted = () => source.destroy(new Error("request aborted"));
    body.once("aborted", aborted);
    body.once("error", aborted);
    body.once("close", () => {
      if (!(body as Readable & { complete?: boolean }).complete) aborted();
    });
    body.pipe(source);
    const feeding = pipeline(source, limiter(upload.file_size, counted), passthrough);
    try {
      await Promise.all([feeding, this.storage.put(upload.storage_key, passthrough, upload.file_size, upload.mime_type)]);
    } catch (err) {
      body.unpipe(source);
      body.resume();
      passthrough.destroy();
      await this.storage.delete(upload.storage_key);
      await this.models.Upload.updateOne({ _id: upload._id }, { $set: { status: "pending" } });
      if ((err as { tooLarge?: boolean }).tooLarge)
        return putError(413, ErrorCode.BAD_USER_INPUT, `The body is larger than the declared ${upload.file_size} bytes`);
      return putError(400, ErrorCode.BAD_USER_INPUT, "The upload was interrupted; send the bytes again");
    } finally {
      body.off("aborted", aborted);
      body.off("error", aborted);
    }
    if (counted.bytes !== upload.file_size) {
      await this.storage.delete(upload.storage_key);
      await this.models.Upload.updateOne({ _id: upload._id }, { $set: { status: "pending" } });
      return putError(400, ErrorCode.BAD_USER_INPUT, `Got ${counted.bytes} of the declared ${upload.file_size} bytes; send them all`);
    }
    await this.models.Upload.updateOne({ _id: upload._id }, { $set: { status: "received" } });
    return { status: 200, body: { ok: true, size: counted.bytes } };
  }

  /** Removes a refused upload entirely, then reports why. */
  private async refuse(upload: DocumentType<Upload>, fields: FieldError[], extraKeys: string[] = []): Promise<never> {
    await Promise.all([upload.storage_key, ...extraKeys].map((k) => this.storage.delete(k)));
    await this.models.Upload.deleteOne({ _id: upload._id });
    throw badInput(fields, "The upload was refused and removed; create a new one");
  }

  async complete(viewerId: string, uploadId: string): Promise<DocumentType<Media> | DocumentType<FileItem>> {
    const id = parseId(uploadId, "uploadId");
    const viewer = new Types.ObjectId(viewerId);
    const upload = await this.models.Upload.findOneAndUpdate(
      { _id: id, uploader_id: viewer, status: "received" },
      { $set: { status: "completing" } },
      { returnDocument: "after" },
    );
    if (!upload) {
      // A retry after success gets what the first call made.
      const done =
        (await this.models.Media.findOne({ _id: id, uploader_id: viewer, is_deleted: false })) ??
        (await this.models.File.findOne({ _id: id, uploader_id: viewer, is_deleted: false }));
      if (done) return done;
      const ticket = await this.models.Upload.findOne({ _id: id, uploader_id: viewer }, { status: 1 }).lean();
      if (!ticket) throw notFound("Upload");
      if (ticket.status === "completing") throw new AppError(ErrorCode.CONFLICT, "This upload is being completed");
      throw badInput([{ field: "uploadId", message: "the bytes have not been uploaded yet: PUT them to uploadUrl first" }]);
    }

    const size = await this.storage.size(upload.storage_key);
    if (size !== upload.file_size) return this.refuse(upload, [{ field: "uploadId", message: `stored ${size ?? 0} bytes, declared ${upload.file_size}` }]);
    const head = await readAll((await this.storage.get(upload.storage_key, { start: 0, end: Math.min(SNIFF_BYTES, size) - 1 }))!);
    const sniffed = await fileTypeFromBuffer(head);
    const declared = upload.mime_type;
    const kind = mediaTypeOf(declared);
    const actual = sniffed ? normalizeMime(sniffed.mime) : null;
    if (actual ? container(actual) !== container(declared) : kind !== null || KNOWN_TO_SNIFFER.has(declared)) {
      return this.refuse(upload, [
        { field: "mimeType", message: `declared ${declared}, but the bytes are ${actual ?? "not a recognisable " + (kind ?? declared) + " file"}` },
      ]);
    }

    const derived: string[] = [];
    try {
      if (!kind) {
        return await this.settle(upload._id, (session) =>
          this.models.File.create(
            [
              {
                _id: upload._id,
                filename: upload.storage_key,
                original_filename: upload.original_filename,
                file_size: size,
                mime_type: declared,
                uploader_id: viewer,
                download_count: 0,
                is_deleted: false,
              },
            ],
            { session },
          ),
        );
      }
      const fields: Partial<Media> = { filename: upload.storage_key, file_size: size, optimized: false };
      let replacedOriginal = false;
      if (kind === MediaType.IMAGE) {
        const image = await this.processImage(upload, size, derived);
        if ("refused" in image) return this.refuse(upload, [{ field: "uploadId", message: image.refused }], derived);
        Object.assign(fields, image);
        replacedOriginal = image.filename !== upload.storage_key;
      } else {
        const duration = await this.durationOf(upload, declared, size);
        if (duration !== null) fields.duration = duration;
      }
      const media = await this.settle(upload._id, (session) =>
        this.models.Media.create(
          [
            {
              _id: upload._id,
              original_filename: upload.original_filename,
              media_type: kind,
              mime_type: declared,
              uploader_id: viewer,
              view_count: 0,
              is_deleted: false,
              ...fields,
            },
          ],
          { session },
        ),
      );
      if (replacedOriginal) await this.storage.delete(upload.storage_key);
      return media;
    } catch (err) {
      // Unexpected (storage or database): undo what was derived and let the client retry.
      await Promise.all(derived.map((k) => this.storage.delete(k)));
      await this.models.Upload.updateOne({ _id: upload._id, status: "completing" }, { $set: { status: "received" } });
      throw err;
    }
  }

  /**
   * The completed Media/File and the end of its upload ticket, in one transaction when the
   * database has them: a crash in between leaves the ticket (retried) or the result, never both.
   * Without transactions a crash leaves both; a retried completeUpload then returns the result.
   */
  private async settle<T>(uploadId: Types.ObjectId, create: (session: TxnSession) => Promise<T[]>): Promise<T> {
    const [made] = await this.db.transaction(async (session) => {
      const out = await create(session);
      await this.models.Upload.deleteOne({ _id: uploadId }, { session });
      return out;
    });
    return made;
  }

  /** Dimensions, a thumbnail and maybe a metadata-free served copy (see image.ts), or why the image is refused. */
  private async processImage(upload: Upload, size: number, derived: string[]): Promise<Partial<Media> | ImageRefusal> {
    const image = await analyzeImage(await readAll((await this.storage.get(upload.storage_key))!), this.options.imageMaxPixels);
    if ("refused" in image) return image;
    const thumbKey = `${upload.storage_key}-t`;
    derived.push(thumbKey);
    await this.putBuffer(thumbKey, image.thumbnail, "image/webp");
    const result: Partial<Media> = {
      width: image.width,
      height: image.height,
      thumbnail: thumbKey,
      file_size: size,
      optimized: false,
      filename: upload.storage_key,
    };
    if (image.optimized) {
      const optKey = `${upload.storage_key}-o`;
      derived.push(optKey);
      await this.putBuffer(optKey, image.optimized.data, upload.mime_type);
      Object.assign(result, {
        filename: optKey,
        file_size: image.optimized.data.length,
        optimized: true,
        width: image.optimized.width,
        height: image.optimized.height,
      });
    }
    return result;
  }

  /** Seconds of audio or video, read from the container's headers; null when they do not say. */
  private async durationOf(upload: Upload, mimeType: string, size: number): Promise<number | null> {
    const stream = await this.storage.get(upload.storage_key);
    if (!stream) return null;
    try {
      const meta = await parseStream(stream, { mimeType, size }, { duration: true, skipCovers: true });
      const seconds = meta.format.duration;
      return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) / 1000 : null;
    } catch {
      return null;
    } finally {
      stream.destroy();
    }
  }

  private async putBuffer(key: string, data: Buffer, contentType: string): Promise<void> {
    const stream = new PassThrough();
    stream.end(data);
    await this.storage.put(key, stream, data.length, contentType);
  }

  /** Tickets past their purge time go, with their bytes (unless they became a document). */
  async purgeExpired(now = new Date()): Promise<number> {
    const stale = await this.models.Upload.find({ purge_at: mongoose.trusted({ $lte: now }) })
      .limit(100)
      .comment(BACKGROUND_COMMENT);
    for (const upload of stale) {
      const became = (await this.models.Media.exists({ _id: upload._id })) ?? (await this.models.File.exists({ _id: upload._id }));
      if (!became) await Promise.all([upload.storage_key, `${upload.storage_key}-t`, `${upload.storage_key}-o`].map((k) => this.storage.delete(k)));
      await this.models.Upload.deleteOne({ _id: upload._id });
    }
    return stale.length;
  }
}

declare module "../../context.js" {
  interface Services {
    uploads: UploadService;
  }
}
