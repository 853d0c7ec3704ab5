/**
 * Uploaded bytes in S3-compatible object storage (AWS S3, MinIO, R2...), with the official
 * client. A PUT that fails part-way stores nothing: S3 only creates an object on a complete
 * upload of the declared length, and the key is deleted after a failure in case a lenient
 * S3-compatible store kept a part.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { S3Config } from "../config.js";
import { type BlobStorage, type ByteRange, assertKey } from "./blob-storage.js";

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

export class S3Storage implements BlobStorage {
  private readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      // Checksums only where S3 requires them: the default (a CRC trailer in aws-chunked
      // encoding) is not understood by every S3-compatible store.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(config.accessKeyId && config.secretAccessKey ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } } : {}),
    });
  }

  async put(key: string, body: Readable, size: number, contentType: string): Promise<void> {
    assertKey(key);
    // The SDK pipes the body into its request and would wait forever for a body that failed:
    // a failed body aborts the request (S3 then stores nothing).
    const abort = new AbortController();
    let failure: unknown = null;
    const onError = (err: unknown) => {
      failure = err;
      abort.abort();
    };
    body.once("error", onError);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: body, ContentLength: size, ContentType: contentType }), {
        abortSignal: abort.signal,
      });
    } catch (err) {
      // S3 keeps nothing of an incomplete PUT; a lenient S3-compatible store might. Keys are
      // never reused, so removing whatever is there cannot hurt.
      await this.delete(key).catch(() => undefined);
      throw failure ?? err;
    } finally {
      body.off("error", onError);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    assertKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    assertKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return out.ContentLength ?? null;
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
  }
}
