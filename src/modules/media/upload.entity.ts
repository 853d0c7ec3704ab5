/**
 * A pending upload (collection `uploads`, beside the seed): the ticket createUpload hands out,
 * what was declared, and how far the bytes got. Its `_id` becomes the Media or File id on
 * completion (so a retried completeUpload finds what the first one made) and the ticket is
 * removed. Tickets never completed are purged with their bytes (`purge_at`).
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";

export type UploadStatus = "pending" | "uploading" | "received" | "completing";

@index({ purge_at: 1 })
@modelOptions({ schemaOptions: { collection: "uploads", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
export class Upload {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  uploader_id!: Types.ObjectId;

  @prop({ type: String, required: true })
  original_filename!: string;

  /** As declared (normalised); checked against the bytes on completion. */
  @prop({ type: String, required: true })
  mime_type!: string;

  @prop({ type: Number, required: true })
  file_size!: number;

  /** Random storage key the bytes go to. */
  @prop({ type: String, required: true })
  storage_key!: string;

  @prop({ type: String, required: true, enum: ["pending", "uploading", "received", "completing"], default: "pending" })
  status!: UploadStatus;

  /** The upload URL stops working here. */
  @prop({ type: Date, required: true })
  expires_at!: Date;

  /** An upload not completed by then is removed, bytes and ticket. */
  @prop({ type: Date, required: true })
  purge_at!: Date;

  created_at!: Date;
  updated_at!: Date;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Upload: typeof Upload;
  }
}
