/** The configured storage: S3 when S3_BUCKET is set, else the local disk under UPLOAD_DIR. */
import type { Config } from "../config.js";
import type { BlobStorage } from "./blob-storage.js";
import { LocalDiskStorage } from "./local-disk.js";
import { S3Storage } from "./s3.js";

export type { BlobStorage } from "./blob-storage.js";

export function createStorage(config: Config): BlobStorage {
  return config.s3 ? new S3Storage(config.s3) : new LocalDiskStorage(config.uploadDir);
}
