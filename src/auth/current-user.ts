/**
 * Parameter decorators for the viewer (type-graphql's createParameterDecorator): a resolver
 * writes `@ViewerId() viewerId: string` instead of reading `ctx.viewer!.id`. Both throw
 * UNAUTHENTICATED when there is no viewer, so they are safe even without `@Authorized()`.
 */
import { createParameterDecorator } from "type-graphql";
import type { Context, Viewer } from "../context.js";
import { unauthenticated } from "../errors.js";

function requireViewer(context: Context): Viewer {
  if (!context.viewer) throw unauthenticated();
  return context.viewer;
}

/** The signed-in viewer (id, session, token expiry). */
export function CurrentUser() {
  return createParameterDecorator<Context>(({ context }) => requireViewer(context));
}

/** The signed-in viewer's user id. */
export function ViewerId() {
  return createParameterDecorator<Context>(({ context }) => requireViewer(context).id);
}

/** The viewer of a subscription's `subscribe` function (it takes no parameter decorators). */
export function viewerIdOf(context: Context): string {
  return requireViewer(context).id;
}
