/** Inputs of the accounts part of the contract, validated with class-validator. */
import { IsEmail, IsOptional, Length, Matches, MaxLength, MinLength, ValidateIf, ValidateNested } from "class-validator";
import { Field, ID, InputType } from "type-graphql";
import { DeviceInfoInput } from "../presence/presence.input.js";
import { GroupAddPolicy, Visibility } from "../user/privacy.js";

export const USERNAME_PATTERN = /^[A-Za-z0-9_.]+$/;
export const E164_PATTERN = /^\+[1-9]\d{1,14}$/;

@InputType()
export class RegisterInput {
  @Field({ description: "3-32 chars: letters, digits, underscore, dot; unique case-insensitively." })
  @Length(3, 32)
  @Matches(USERNAME_PATTERN, { message: "username may contain letters, digits, underscore and dot only" })
  username!: string;

  @Field()
  @IsEmail({}, { message: "email must be a valid email address" })
  @MaxLength(254)
  email!: string;

  @Field({ description: "At least 8 characters." })
  @MinLength(8)
  @MaxLength(256)
  password!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  fullName?: string;

  @Field(() => String, { nullable: true, description: "E.164, e.g. +1234567890; unique when given." })
  @IsOptional()
  @Matches(E164_PATTERN, { message: "phoneNumber must be in E.164 format, e.g. +1234567890" })
  phoneNumber?: string;
}

@InputType()
export class LoginInput {
  @Field()
  @Length(1, 254)
  login!: string;

  @Field()
  @Length(1, 256)
  password!: string;

  @Field(() => DeviceInfoInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  device?: DeviceInfoInput;
}

@InputType()
export class UpdateProfileInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  fullName?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(500)
  bio?: string | null;

  @Field(() => String, { nullable: true })
  @ValidateIf((_o, v) => v !== null && v !== undefined)
  @Matches(E164_PATTERN, { message: "phoneNumber must be in E.164 format, e.g. +1234567890" })
  phoneNumber?: string | null;

  @Field(() => ID, { nullable: true, description: "A Media id the viewer uploaded (an image); null clears it." })
  profilePictureId?: string | null;
}

@InputType()
export class UpdateSettingsInput {
  @Field(() => Boolean, { nullable: true })
  notificationsEnabled?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  readReceiptsEnabled?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  typingIndicatorsEnabled?: boolean | null;

  @Field(() => Visibility, { nullable: true, description: "Who sees your phone number." })
  phoneNumberVisibility?: Visibility | null;

  @Field(() => Visibility, { nullable: true, description: "Who sees your last seen and presence." })
  lastSeenVisibility?: Visibility | null;

  @Field(() => Visibility, { nullable: true, description: "Who sees your profile picture." })
  profilePictureVisibility?: Visibility | null;

  @Field(() => GroupAddPolicy, { nullable: true, description: "Who may add you to groups directly; others' additions become invitations." })
  groupAddPolicy?: GroupAddPolicy | null;
}

/** New passwords follow the same rule as at registration. */
export const MIN_PASSWORD_LENGTH = 8;
