/**
 * Inputs of the uploads part, with their shape rules (class-validator). The size limit is the
 * server's configuration, so UploadService checks `fileSize`.
 */
import { ValidateBy, type ValidationArguments } from "class-validator";
import { Field, InputType, Int } from "type-graphql";
import { TrimmedLength } from "../user/trimmed-length.js";
import { MEDIA_MIME, MIME_PATTERN, mediaTypeOf, normalizeMime } from "./mime.js";

export const MAX_FILENAME = 255;

/** A bare file name: no path separators, no control characters, not `.` or `..` (trimmed, as stored). */
function SafeFileName(): PropertyDecorator {
  return ValidateBy({
    name: "safeFileName",
    validator: {
      validate: (v: unknown) => {
        const name = typeof v === "string" ? v.trim() : "";
        // eslint-disable-next-line no-control-regex
        return !/[\u0000-\u001f\u007f/\\]/.test(name) && name !== "." && name !== "..";
      },
      defaultMessage: () => "a file name without path separators or control characters",
    },
  });
}

/** A well-formed MIME type; an image/video/audio one must be a type we can store as Media. */
function UploadableMime(): PropertyDecorator {
  const problem = (v: unknown): string | null => {
    const mime = normalizeMime(String(v));
    if (!MIME_PATTERN.test(mime)) return "a MIME type such as image/png";
    const kind = mediaTypeOf(mime);
    if (kind && !MEDIA_MIME[kind].includes(mime)) return `${mime} is not a supported ${kind} type (${MEDIA_MIME[kind].join(", ")})`;
    return null;
  };
  return ValidateBy({
    name: "uploadableMime",
    validator: {
      validate: (v: unknown) => typeof v === "string" && problem(v) === null,
      defaultMessage: (args?: ValidationArguments) => problem(args?.value) ?? "a MIME type such as image/png",
    },
  });
}

@InputType()
export class CreateUploadInput {
  @Field({ description: "1-255 characters, no path separators." })
  @TrimmedLength(1, MAX_FILENAME, `1 to ${MAX_FILENAME} characters`)
  @SafeFileName()
  originalFilename!: string;

  @Field({ description: "Declared type; image/*, video/*, audio/* become Media, anything else a File. Checked against the bytes." })
  @UploadableMime()
  mimeType!: string;

  @Field(() => Int, { description: "Bytes; at most the server's limit (default 25 MiB)." })
  fileSize!: number;
}
