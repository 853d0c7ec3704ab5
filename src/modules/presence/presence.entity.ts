/**
 * A user's presence (collection `presence`, seed 004): one document per user. The API shows
 * it through PresenceView (plain JSON, the same in queries and live events).
 */
import { index, modelOptions, prop } from "@typegoose/typegoose";
import { Types } from "mongoose";
import { registerEnumType } from "type-graphql";

export enum PresenceStatus {
  ONLINE = "online",
  AWAY = "away",
  BUSY = "busy",
  OFFLINE = "offline",
}
registerEnumType(PresenceStatus, { name: "PresenceStatus" });

export class StoredDeviceInfo {
  @prop({ type: String })
  device_type?: string;

  @prop({ type: String })
  app_version?: string;

  @prop({ type: String })
  platform?: string;
}

@index({ user_id: 1 }, { unique: true })
@modelOptions({ schemaOptions: { collection: "presence" } })
export class PresenceDoc {
  readonly _id!: Types.ObjectId;

  @prop({ type: () => Types.ObjectId, required: true })
  user_id!: Types.ObjectId;

  @prop({ type: String, enum: PresenceStatus, required: true })
  status!: PresenceStatus;

  @prop({ type: Date, required: true })
  last_active!: Date;

  /** Absent when cleared (seed 004 types it as a string, never null). */
  @prop({ type: String })
  custom_status?: string;

  @prop({ type: () => StoredDeviceInfo, _id: false })
  device_info?: StoredDeviceInfo;
}

declare module "../../common/database.js" {
  interface ModelClasses {
    Presence: typeof PresenceDoc;
  }
}
