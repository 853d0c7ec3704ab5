/** Output GraphQL types of the presence part; roots are PresenceView objects. */
import { Field, ObjectType } from "type-graphql";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { PresenceStatus } from "./presence.entity.js";

@ObjectType("DeviceInfo")
export class DeviceInfo {
  @Field(() => String, { nullable: true })
  deviceType!: string | null;

  @Field(() => String, { nullable: true })
  appVersion!: string | null;

  @Field(() => String, { nullable: true })
  platform!: string | null;
}

@ObjectType("Presence")
export class PresenceType {
  // Named like the viewer-specific statuses elsewhere: shared execution treats every `status` alike.
  @ViewerSpecific()
  @Field(() => PresenceStatus)
  status!: PresenceStatus;

  @Field(() => String, { nullable: true })
  customStatus!: string | null;

  @Field(() => DeviceInfo, { nullable: true })
  deviceInfo!: DeviceInfo | null;
}
