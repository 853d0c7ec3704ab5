/**
 * Media and files after upload: access rules, signed download URLs, downloads and deletion.
 *
 * Who may read an item: its uploader; anyone who can read a (not deleted) message carrying it;
 * a profile picture of an active user to those the owner's profilePictureVisibility lets see
 * it; any signed-in user for a group's icon. Download URLs
 * are signed for the user they were handed to, and the rule is checked again when the bytes
 * are fetched, so a URL stops working when the item is deleted or the access is lost.
 */
import type DataLoader from "dataloader";
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Readable } from "node:stream";
import type { Models } from "../../common/database.js";
import { forbidden, notFound } from "../../errors.js";
import { alignByIds, parseId, validObjectIds } from "../../common/ids.js";
import { findEntities, type Entity } from "../../common/lean.js";
import { UrlSigner, type SignedParams, type Verdict } from "../../common/signed-url.js";
import type { BlobStorage } from "../../storage/index.js";
import type { ByteRange } from "../../storage/blob-storage.js";
import { type FileItem, type Media, MediaType } from "./media.entity.js";
import { ContactStatus } from "../contact/contact.entity.js";
import { maySee, privacyOf } from "../user/privacy.js";

export type DownloadKind = "media" | "thumbnail" | "file";

export interface Download {
  body: Readable;
  /** Total size of the stored object. */
  size: number;
  range: ByteRange | null;
  contentType: string;
  filename: string;
  /** Files are offered as attachments; media display inline. */
  inline: boolean;
}

export type DownloadResult = { ok: true; download: Download } | { ok: false; status: number; code: string; message: string };

/** Parses a single-range `Range: bytes=a-b` header against a size; null when absent or ignorable. */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null; // multiple or malformed ranges: send it all
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

export class MediaService {
  constructor(
    private readonly models: Models,
    private readonly signer: UrlSigner,
    private readonly storage: BlobStorage,
  ) {}

  /** For loaders: media by id, deleted ones left out. */
  /** Plain objects (the media loader's read: resolvers only read fields, see common/lean.ts). */
  async mediaByIds(ids: readonly string[]): Promise<Array<Entity<Media> | null>> {
    const docs = await findEntities(this.models.Media, { _id: { $in: validObjectIds(ids) }, is_deleted: false });
    return alignByIds(ids, docs, (d) => d._id.toHexString());
  }

  async filesByIds(ids: readonly string[]): Promise<Array<Entity<FileItem> | null>> {
    const docs = await findEntities(this.models.File, { _id: { $in: validObjectIds(ids) }, is_deleted: false });
    return alignByIds(ids, docs, (d) => d._id.toHexString());
  }

  /**
   * Whether the viewer can read some live message that carries this attachment. Every
   * conversation carrying it is considered (distinct ids, no cut-off): a forwarded upload may
   * be in many, and the viewer's may be any of them.
   */
  private async attachedToReadableMessage(viewerId: string, field: "attachment.media_id" | "attachment.file_id", id: Types.ObjectId): Promise<boolean> {
    const filter = { [field]: id, is_deleted: false };
    const [direct, group] = await Promise.all([
      this.models.DirectMessage.distinct("conversation_id", filter),
      this.models.GroupMessage.distinct("conversation_id", filter),
    ]);
    const conversations = [...direct, ...group] as Types.ObjectId[];
    if (conversations.length === 0) return false;
    return (await this.models.Conversation.exists({ _id: mongoose.trusted({ $in: conversations }), "members.user_id": new Types.ObjectId(viewerId) })) !== null;
  }

  async canReadMedia(viewerId: string, media: Media): Promise<boolean> {
    if (media.is_deleted) return false;
    if (media.uploader_id.toHexString() === viewerId) return true;
    const hex = media._id.toHexString();
    if (await this.profilePictureVisible(viewerId, hex)) return true;
    if (await this.models.Group.exists({ icon: hex })) return true;
    return this.attachedToReadableMessage(viewerId, "attachment.media_id", media._id);
  }

  /**
   * Whether an active user has this image as profile picture and lets the viewer see it
   * (profilePictureVisibility; a block hides it), so a known id or URL is no way around it.
   */
  private async profilePictureVisible(viewerId: string, mediaId: string): Promise<boolean> {
    const owners = await this.models.User.find({ profile_picture: mediaId, is_active: true }, { settings: 1 }).limit(10).lean();
    if (owners.length === 0) return false;
    const entries = await this.models.Contact.find(
      {
        user_id: mongoose.trusted({ $in: owners.map((o) => o._id) }),
        contact_id: new Types.ObjectId(viewerId),
        status: mongoose.trusted({ $in: [ContactStatus.ACCEPTED, ContactStatus.BLOCKED] }),
      },
      { user_id: 1, status: 1 },
    ).lean();
    const status = new Map(entries.map((e) => [e.user_id.toHexString(), e.status]));
    return owners.some((o) =>
      maySee(privacyOf(o.settings).profile_picture_visibility, {
        self: o._id.toHexString() === viewerId,
        contact: status.get(o._id.toHexString()) === ContactStatus.ACCEPTED,
        blocked: status.get(o._id.toHexString()) === ContactStatus.BLOCKED,
      }),
    );
  }

  async canReadFile(viewerId: string, file: FileItem): Promise<boolean> {
    if (file.is_deleted) return false;
    if (file.uploader_id.toHexString() === viewerId) return true;
    return this.attachedToReadableMessage(viewerId, "attachment.file_id", file._id);
  }

  async visibleMedia(viewerId: string, id: string): Promise<DocumentType<Media>> {
    const media = await this.models.Media.findOne({ _id: parseId(id), is_deleted: false });
    if (!media || !(await this.canReadMedia(viewerId, media))) throw notFound("Media");
    return media;
  }

  async visibleFile(viewerId: string, id: string): Promise<DocumentType<FileItem>> {
    const file = await this.models.File.findOne({ _id: parseId(id), is_deleted: false });
    if (!file || !(await this.canReadFile(viewerId, file))) throw notFound("File");
    return file;
  }

  /** An image the viewer uploaded, usable as their profile picture or a group icon. */
  async ownImage(viewerId: string, id: string, field: string): Promise<DocumentType<Media>> {
    const media = await this.models.Media.findOne({ _id: parseId(id, field), is_deleted: false, uploader_id: new Types.ObjectId(viewerId) });
    if (!media || media.media_type !== MediaType.IMAGE) throw notFound("Image");
    return media;
  }

  mediaUrl(media: Media, viewerId: string): string {
    return this.signer.sign(`/files/media/${media._id.toHexString()}`, viewerId).url;
  }

  thumbnailUrl(media: Media, viewerId: string): string | null {
    return media.thumbnail ? this.signer.sign(`/files/media/${media._id.toHexString()}/thumbnail`, viewerId).url : null;
  }

  fileUrl(file: FileItem, viewerId: string): string {
    return this.signer.sign(`/files/file/${file._id.toHexString()}`, viewerId).url;
  }

  /**
   * A GET of a signed download URL: signature and expiry, then the access rule again, then the
   * bytes (or a range of them). A full download (or the first range of one) counts one view
   * or download, atomically; a HEAD request (`count` false) does not.
   */
  async download(kind: DownloadKind, id: string, params: SignedParams, rangeHeader: string | undefined, count = true): Promise<DownloadResult> {
    const path = kind === "thumbnail" ? `/files/media/${id}/thumbnail` : `/files/${kind}/${id}`;
    const verdict: Verdict = this.signer.verify(path, params);
    if (verdict !== "ok")
      return {
        ok: false,
        status: 403,
        code: "INVALID_TOKEN",
        message: verdict === "expired" ? "This download URL has expired" : "This download URL is not valid",
      };
    const gone = { ok: false as const, status: 404, code: "NOT_FOUND", message: "Not found" };
    if (!Types.ObjectId.isValid(id) || !params.u || !Types.ObjectId.isValid(params.u)) return gone;
    const oid = new Types.ObjectId(id);
    let key: string;
    let contentType: string;
    let item: Media | FileItem;
    if (kind === "file") {
      const file = await this.models.File.findOne({ _id: oid, is_deleted: false });
      if (!file || !(await this.canReadFile(params.u, file))) return gone;
      [item, key, contentType] = [file, file.filename, file.mime_type];
    } else {
      const media = await this.models.Media.findOne({ _id: oid, is_deleted: false });
      if (!media || !(await this.canReadMedia(params.u, media))) return gone;
      if (kind === "thumbnail" && !media.thumbnail) return gone;
      [item, key, contentType] = kind === "thumbnail" ? [media, media.thumbnail!, "image/webp"] : [media, media.filename, media.mime_type];
    }
    const size = await this.storage.size(key);
    if (size === null) return gone;
    const range = parseRange(rangeHeader, size);
    if (range === "unsatisfiable") return { ok: false, status: 416, code: "BAD_USER_INPUT", message: `Range not satisfiable (size ${size})` };
    const body = await this.storage.get(key, range ?? undefined);
    if (!body) return gone;
    if (count && kind !== "thumbnail" && (!range || range.start === 0)) {
      if (kind === "file") await this.models.File.updateOne({ _id: oid }, { $inc: { download_count: 1 } });
      else await this.models.Media.updateOne({ _id: oid }, { $inc: { view_count: 1 } });
    }
    return { ok: true, download: { body, size, range, contentType, filename: item.original_filename, inline: kind !== "file" } };
  }

  /**
   * Uploader only (others: NOT_FOUND when they cannot see it, FORBIDDEN when they can). The
   * item is marked deleted, its bytes removed, and it stops being anyone's profile picture
   * or group icon; messages carrying it show no attachment.
   */
  async deleteMedia(viewerId: string, id: string): Promise<boolean> {
    const media = await this.visibleMedia(viewerId, id);
    if (media.uploader_id.toHexString() !== viewerId) throw forbidden("Only the uploader can delete this");
    const marked = await this.models.Media.findOneAndUpdate({ _id: media._id, is_deleted: false }, { $set: { is_deleted: true } });
    if (!marked) throw notFound("Media");
    const hex = media._id.toHexString();
    await this.models.User.updateMany({ profile_picture: hex }, { $set: { profile_picture: null } });
    await this.models.Group.updateMany({ icon: hex }, { $set: { icon: null } });
    await this.storage.delete(media.filename);
    if (media.thumbnail) await this.storage.delete(media.thumbnail);
    return true;
  }

  async deleteFile(viewerId: string, id: string): Promise<boolean> {
    const file = await this.visibleFile(viewerId, id);
    if (file.uploader_id.toHexString() !== viewerId) throw forbidden("Only the uploader can delete this");
    const marked = await this.models.File.findOneAndUpdate({ _id: file._id, is_deleted: false }, { $set: { is_deleted: true } });
    if (!marked) throw notFound("File");
    await this.storage.delete(file.filename);
    return true;
  }
}

declare module "../../context.js" {
  interface Services {
    media: MediaService;
  }
  interface SharedLoaders {
    media: DataLoader<string, Entity<Media> | null>;
    file: DataLoader<string, Entity<FileItem> | null>;
  }
}
