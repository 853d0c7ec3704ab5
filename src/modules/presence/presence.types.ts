/** GraphQL types of the presence part; roots are PresenceView objects. */
import { Field, InputType, ObjectType } from "type-graphql";
import { DeviceInfoInput } from "../account/account.inputs.js";
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
  @Field(() => PresenceStatus)
  status!: PresenceStatus;

  @Field(() => String, { nullable: true })
  customStatus!: string | null;

  @Field(() => DeviceInfo, { nullable: true })
  deviceInfo!: DeviceInfo | null;
}

@InputType()
export class SetPresenceInput {
  @Field(() => PresenceStatus, { nullable: true })
  status?: PresenceStatus | null;

  @Field(() => String, { nullable: true, description: "At most 140 characters; null clears it." })
  customStatus?: string | null;

  @Field(() => DeviceInfoInput, { nullable: true })
  deviceInfo?: DeviceInfoInput | null;
}
