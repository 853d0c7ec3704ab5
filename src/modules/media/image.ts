/**
 * Image processing on upload (sharp): the dimensions as displayed (EXIF orientation applied),
 * a WebP thumbnail, and an optimised copy — oriented, metadata such as the GPS position
 * stripped, at most 4096 px — offered only when it is smaller than the original.
 */
import sharp, { type Metadata } from "sharp";

const THUMBNAIL_PX = 320;
/** Optimised copies are bounded to this size on their longer side. */
const OPTIMIZED_MAX_PX = 4096;

export interface AnalyzedImage {
  width: number;
  height: number;
  /** WebP, at most 320 px on its longer side. */
  thumbnail: Buffer;
  /** Same format, re-encoded; absent when it would not be smaller (or for GIF/AVIF). */
  optimized?: { data: Buffer; width: number; height: number };
}

/** Null when sharp cannot decode the bytes as an image. */
export async function analyzeImage(original: Buffer): Promise<AnalyzedImage | null> {
  let meta: Metadata;
  try {
    meta = await sharp(original, { failOn: "error" }).metadata();
    if (!meta.width || !meta.height) return null;
  } catch {
    return null;
  }
  const shown = meta.autoOrient ?? { width: meta.width, height: meta.height };
  const thumbnail = await sharp(original).rotate().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: "inside", withoutEnlargement: true }).webp({ quality: 75 }).toBuffer();
  const result: AnalyzedImage = { width: shown.width, height: shown.height, thumbnail };
  const format = meta.format;
  if (format === "jpeg" || format === "png" || format === "webp") {
    let out = sharp(original).rotate().resize(OPTIMIZED_MAX_PX, OPTIMIZED_MAX_PX, { fit: "inside", withoutEnlargement: true });
    out = format === "jpeg" ? out.jpeg({ quality: 82, mozjpeg: true }) : format === "png" ? out.png({ compressionLevel: 9 }) : out.webp({ quality: 80 });
    const { data, info } = await out.toBuffer({ resolveWithObject: true });
    if (data.length < original.length) result.optimized = { data, width: info.width, height: info.height };
  }
  return result;
}
