/**
 * MIME types of uploads: which media types are accepted, the usual aliases folded, and how a
 * declared type is compared with the one sniffed from the bytes.
 */
import { supportedMimeTypes } from "file-type";
import { MediaType } from "./media.entity.js";

export const MEDIA_MIME: Record<MediaType, readonly string[]> = {
  [MediaType.IMAGE]: ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"],
  [MediaType.VIDEO]: ["video/mp4", "video/webm", "video/quicktime", "video/matroska", "video/3gpp", "video/mpeg", "video/ogg", "video/x-m4v"],
  [MediaType.AUDIO]: ["audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/wav", "audio/flac", "audio/webm", "audio/amr"],
};

const ALIASES: Record<string, string> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "image/apng": "image/png",
  "audio/mp3": "audio/mpeg",
  "audio/x-mp3": "audio/mpeg",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/x-m4a": "audio/mp4",
  "audio/m4a": "audio/mp4",
  "audio/x-flac": "audio/flac",
  "audio/x-aac": "audio/aac",
  "video/x-matroska": "video/matroska",
  "application/x-pdf": "application/pdf",
};

/** Lower case, no parameters, the usual aliases folded. */
export function normalizeMime(mime: string): string {
  const bare = mime.split(";")[0].trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

/** Containers that hold audio or video alike: the bytes cannot tell which was meant. */
export function container(mime: string): string {
  if (["audio/mp4", "video/mp4", "video/x-m4v"].includes(mime)) return "mp4";
  if (["audio/webm", "video/webm"].includes(mime)) return "webm";
  if (["audio/ogg", "video/ogg", "application/ogg"].includes(mime)) return "ogg";
  return mime;
}

export function mediaTypeOf(mime: string): MediaType | null {
  const top = mime.split("/")[0];
  return top === "image" ? MediaType.IMAGE : top === "video" ? MediaType.VIDEO : top === "audio" ? MediaType.AUDIO : null;
}

/** Types file-type recognises: a file declared as one of them must be recognised as it. */
export const KNOWN_TO_SNIFFER = new Set<string>([...supportedMimeTypes].map((m) => normalizeMime(m)));
export const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
