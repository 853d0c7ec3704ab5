/** Output types of the groups part of the contract (besides the Group entity). */
import { Field, ObjectType } from "type-graphql";
import { ConnectionType } from "../../common/connection.js";
import { User } from "../user/user.entity.js";
import { Group, GroupRole } from "./group.entity.js";

@ObjectType("GroupMember")
export class GroupMember {
  @Field(() => User)
  user!: User;

  @Field(() => GroupRole)
  role!: GroupRole;
}

export const GroupMemberConnection = ConnectionType("GroupMember", () => GroupMember);
export const GroupConnection = ConnectionType("Group", () => Group);
