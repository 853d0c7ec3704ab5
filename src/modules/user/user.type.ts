/** Output-only GraphQL types of the users part. */
import { ConnectionType } from "../../common/connection.js";
import { User } from "./user.entity.js";

export const UserConnection = ConnectionType("User", () => User);
