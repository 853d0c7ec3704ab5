/**
 * Reading media and files with their access rules, and their signed download URLs. Access: the
 * uploader; anyone signed in for a media item that is some active user's profile picture.
 * (Message attachments and group icons join these rules with messaging and groups.)
 */
import type { DocumentType } from "@typegoose/typegoose";
import mongoose, { Types } from "mongoose";
import type { Models } from "../../database.js";
import { notFound } from "../../errors.js";
import { parseId } from "../../common/ids.js";
import type { UrlSigner } from "../../common/signed-url.js";
import { type FileItem, type Media, MediaType } from "./media.entity.js";

export class MediaService {
  constructor(private readonly models: Models, private readonly signer: UrlSigner) {}

  /** For loaders: media by id, deleted ones left out. */
  async mediaByIds(ids: readonly string[]): Promise<Array<DocumentType<Media> | null>> {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
    const docs = await this.models.Media.find({ _id: mongoose.trusted({ $in: valid }), is_deleted: false });
    const byId = new Map(docs.map((d) => [d._id.toHexString(), d]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async filesByIds(ids: readonly string[]): Promise<Array<DocumentType<FileItem> | null>> {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
    const docs = await this.models.File.find({ _id: mongoose.trusted({ $in: valid }), is_deleted: false });
    const byId = new Map(docs.map((d) => [d._id.toHexString(), d]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async visibleMedia(viewerId: string, id: string): Promise<DocumentType<Media>> {
    const media = await this.models.Media.findOne({ _id: parseId(id), is_deleted: false });
    if (!media) throw notFound("Media");
    if (media.uploader_id.toHexString() === viewerId) return media;
    if (await this.models.User.exists({ profile_picture: media._id.toHexString(), is_active: true })) return media;
    throw notFound("Media");
  }

  async visibleFile(viewerId: string, id: string): Promise<DocumentType<FileItem>> {
    const file = await this.models.File.findOne({ _id: parseId(id), is_deleted: false });
    if (!file || file.uploader_id.toHexString() !== viewerId) throw notFound("File");
    return file;
  }

  /** An image the viewer uploaded, usable as their profile picture. */
  async ownImage(viewerId: string, id: string, field: string): Promise<DocumentType<Media>> {
    const media = await this.models.Media.findOne({ _id: parseId(id, field), is_deleted: false, uploader_id: new Types.ObjectId(viewerId) });
    if (!media || media.media_type !== MediaType.IMAGE) throw notFound("Image");
    return media;
  }

  mediaUrl(media: Media): string {
    return this.signer.sign(`/files/media/${media._id.toHexString()}`);
  }

  thumbnailUrl(media: Media): string | null {
    return media.thumbnail ? this.signer.sign(`/files/media/${media._id.toHexString()}/thumbnail`) : null;
  }

  fileUrl(file: FileItem): string {
    return this.signer.sign(`/files/file/${file._id.toHexString()}`);
  }
}
