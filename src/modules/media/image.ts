/**
 * Image processing on upload (sharp). The image is decoded once, oriented (EXIF orientation
 * applied) and bounded to 4096 px; the thumbnail (WebP, 320 px) and the served copy are both
 * encoded from that one decode. The served copy never carries metadata (EXIF with its GPS
 * position, XMP, IPTC, comments): the original is served only when it carries none and the
 * re-encoded copy would not be smaller. Images over the pixel limit are refused before they
 * are decoded (their header says how big they are), so a small file cannot expand into
 * gigabytes of pixels.
 */
import sharp, { type Metadata, type OutputInfo } from "sharp";

const THUMBNAIL_PX = 320;
/** Served copies are bounded to this size on their longer side. */
const OPTIMIZED_MAX_PX = 4096;

export interface AnalyzedImage {
  width: number;
  height: number;
  /** WebP, at most 320 px on its longer side. */
  thumbnail: Buffer;
  /** The copy to serve instead of the original (metadata stripped); absent: the original is clean and smallest. */
  optimized?: { data: Buffer; width: number; height: number };
}

/** Why an upload is not a usable image (BAD_USER_INPUT for the client). */
export interface ImageRefusal {
  refused: string;
}

/** Whether the file carries metadata that may say where or by whom it was taken. */
function carriesMetadata(meta: Metadata): boolean {
  return Boolean(meta.exif || meta.xmp || meta.iptc || meta.tifftagPhotoshop || meta.comments?.length);
}

export async function analyzeImage(original: Buffer, maxPixels: number): Promise<AnalyzedImage | ImageRefusal> {
  let meta: Metadata;
  try {
    meta = await sharp(original).metadata();
  } catch {
    return { refused: "the image could not be decoded" };
  }
  if (!meta.width || !meta.height) return { refused: "the image could not be decoded" };
  if (meta.width * meta.height > maxPixels) return { refused: `the image has ${meta.width}×${meta.height} pixels; at most ${maxPixels} are accepted` };

  // The one decode. failOn "error": a truncated or corrupt file is refused, not half-rendered.
  let pixels: { data: Buffer; info: OutputInfo };
  try {
    pixels = await sharp(original, { failOn: "error", limitInputPixels: maxPixels })
      .rotate()
      .resize(OPTIMIZED_MAX_PX, OPTIMIZED_MAX_PX, { fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch {
    return { refused: "the image is corrupt or truncated" };
  }
  const raw = { raw: { width: pixels.info.width, height: pixels.info.height, channels: pixels.info.channels } };
  const decoded = () => sharp(pixels.data, raw);

  const thumbnail = await decoded().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: "inside", withoutEnlargement: true }).webp({ quality: 75 }).toBuffer();
  const shown = meta.autoOrient ?? { width: meta.width, height: meta.height };
  const result: AnalyzedImage = { width: shown.width, height: shown.height, thumbnail };

  const tainted = carriesMetadata(meta);
  let encoded: Buffer | null = null;
  switch (meta.format) {
    case "jpeg":
      encoded = await decoded().jpeg({ quality: 82, mozjpeg: true }).toBuffer();
      break;
    case "png":
      encoded = await decoded().png({ compressionLevel: 9 }).toBuffer();
      break;
    case "webp":
      encoded = await decoded().webp({ quality: 80 }).toBuffer();
      break;
    case "heif":
      if (tainted) encoded = await decoded().avif({ quality: 60 }).toBuffer();
      break;
    // Animated GIFs keep their frames: re-encoded from the file only when it carries metadata.
    case "gif":
      if (tainted) encoded = await sharp(original, { animated: true, limitInputPixels: maxPixels }).gif().toBuffer();
      break;
    // Other formats were refused before decoding (mime.ts): nothing to re-encode.
    default:
      break;
  }
  if (encoded && (tainted || encoded.length < original.length)) {
    const info = meta.format === "gif" ? { width: meta.width, height: meta.pageHeight ?? meta.height } : pixels.info;
    result.optimized = { data: encoded, width: info.width, height: info.height };
  } else if (tainted) {
    // A format we cannot re-encode without loss of what makes it that format: refuse rather than serve metadata.
    return { refused: `this ${meta.format} image carries metadata (such as a GPS position) that cannot be removed; send it as JPEG, PNG or WebP` };
  }
  return result;
}
