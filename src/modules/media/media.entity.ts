/**
 * Uploaded media (images, video, audio) and other files, as seed 004 stores them (`media`,
 * `files`). The GraphQL types add signed download URLs and hide `is_deleted` items entirely.
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { Field, Float, Int, ObjectType, registerEnumType, createUnionType } from "type-graphql";
import { Node } from "../node/node.interface.js";

export enum MediaType {
  IMAGE = "image",
  VIDEO = "video",
  AUDIO = "audio",
}
registerEnumType(MediaType, { name: "MediaType" });

/**
 * What Media and File both store (seed 004 repeats these fields in both collections). Only the
 * GraphQL fields that come first in both types carry `@Field` here: type-graphql lists a base
 * class's fields before a subclass's, so `mimeType` and `createdAt` are exposed by the
 * subclasses, where they stand in the published schema.
 */
@ObjectType("StoredFile")
export abstract class StoredFile extends Node {
  readonly _id!: Types.ObjectId;

  /** Random storage name, never the user's. */
  @Field()
  @prop({ type: String, required: true })
  filename!: string;

  @Field({ name: "originalFilename" })
  @prop({ type: String, required: true })
  original_filename!: string;

  @Field(() => Int, { name: "fileSize" })
  @prop({ type: Number, required: true })
  file_size!: number;

  @prop({ type: String, required: true })
  mime_type!: string;

  @prop({ type: () => Types.ObjectId, required: true })
  uploader_id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId })
  message_id?: Types.ObjectId;

  @prop({ type: () => Types.ObjectId })
  group_message_id?: Types.ObjectId;

  /** Deleted items are hidden entirely (never shown as such). */
  @prop({ type: Boolean, required: true, default: false })
  is_deleted!: boolean;

  created_at!: Date;
}

@ObjectType("Media", { implements: Node })
@index({ uploader_id: 1, created_at: -1 })
@modelOptions({ schemaOptions: { collection: "media", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class Media extends StoredFile {
  @Field(() => MediaType, { name: "mediaType" })
  @prop({ type: String, enum: MediaType, required: true })
  media_type!: MediaType;

  @Field({ name: "mimeType" })
  override mime_type!: string;

  @Field(() => Float, { nullable: true, description: "Seconds, audio and video." })
  @prop({ type: Number })
  duration?: number;

  /** Storage name of the thumbnail (images). */
  @prop({ type: String })
  thumbnail?: string;

  @Field(() => Int, { nullable: true })
  @prop({ type: Number })
  width?: number;

  @Field(() => Int, { nullable: true })
  @prop({ type: Number })
  height?: number;

  @Field(() => Int, { name: "viewCount" })
  @prop({ type: Number, required: true, default: 0 })
  view_count!: number;

  @Field()
  @prop({ type: Boolean, required: true, default: false })
  optimized!: boolean;

  @Field({ name: "createdAt" })
  override created_at!: Date;
}

@ObjectType("File", { implements: Node })
@index({ uploader_id: 1, created_at: -1 })
@modelOptions({ schemaOptions: { collection: "files", timestamps: { createdAt: "created_at", updatedAt: false } } })
export class FileItem extends StoredFile {
  @Field({ name: "mimeType" })
  override mime_type!: string;

  @Field(() => Int, { name: "downloadCount" })
  @prop({ type: Number, required: true, default: 0 })
  download_count!: number;

  @Field({ name: "createdAt" })
  override created_at!: Date;
}

/** A message attachment: an image/video/audio Media or any other File. */
export const Attachment = createUnionType({
  name: "Attachment",
  types: () => [Media, FileItem] as const,
  resolveType: (value) => ("media_type" in (value as object) ? "Media" : "File"),
});

declare module "../../common/database.js" {
  interface ModelClasses {
    Media: typeof Media;
    File: typeof FileItem;
  }
}
