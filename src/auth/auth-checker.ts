/** type-graphql's authChecker: `@Authorized()` needs a viewer with a live session. */
import type { AuthChecker } from "type-graphql";
import type { Context } from "../context.js";
import { unauthenticated } from "../errors.js";

export const authChecker: AuthChecker<Context> = ({ context }) => {
  if (!context.viewer) throw unauthenticated();
  return true;
};
