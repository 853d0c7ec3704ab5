/** Output types of the calls part of the contract (besides the Call entity). */
import { ConnectionType } from "../../common/connection.js";
import { Call } from "./call.entity.js";

export const CallConnection = ConnectionType("Call", () => Call);
