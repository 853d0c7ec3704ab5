/** Output-only GraphQL types of the security log. */
import { ConnectionType } from "../../common/connection.js";
import { SecurityEvent } from "./security-event.entity.js";

export const SecurityEventConnection = ConnectionType("SecurityEvent", () => SecurityEvent);
