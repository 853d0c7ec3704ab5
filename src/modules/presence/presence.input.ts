/** Inputs of the presence part, with their shape rules (class-validator). */
import { IsOptional, MaxLength, ValidateNested } from "class-validator";
import { Field, InputType } from "type-graphql";
import { TrimmedLength } from "../user/trimmed-length.js";
import { PresenceStatus } from "./presence.entity.js";

export const MAX_CUSTOM_STATUS = 140;
const MAX_DEVICE_FIELD = 64;

/** The device a login or a presence comes from (also LoginInput's `device`). */
@InputType()
export class DeviceInfoInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(MAX_DEVICE_FIELD)
  deviceType?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(MAX_DEVICE_FIELD)
  appVersion?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(MAX_DEVICE_FIELD)
  platform?: string;
}

@InputType()
export class SetPresenceInput {
  @Field(() => PresenceStatus, { nullable: true })
  status?: PresenceStatus | null;

  @Field(() => String, { nullable: true, description: "At most 140 characters; null clears it." })
  @IsOptional()
  @TrimmedLength(0, MAX_CUSTOM_STATUS, `at most ${MAX_CUSTOM_STATUS} characters`)
  customStatus?: string | null;

  @Field(() => DeviceInfoInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  deviceInfo?: DeviceInfoInput | null;
}
