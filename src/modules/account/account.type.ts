/** Output types of the accounts part. */
import { Field, ObjectType } from "type-graphql";
import { User } from "../user/user.entity.js";

@ObjectType()
export class AuthPayload {
  @Field()
  accessToken!: string;

  @Field()
  accessTokenExpiresAt!: Date;

  @Field()
  refreshToken!: string;

  @Field(() => User)
  user!: User;

  /** The session family (not exposed): lets the resolver treat the new user as the viewer. */
  sessionId!: string;
}
