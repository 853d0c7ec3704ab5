/**
 * The mark for fields whose value depends on who is asking (unread counts, statuses, private
 * profile fields, URLs signed for the viewer). Shared subscription execution
 * (shared-execution.ts) runs a document once per event for all its subscribers only when it
 * selects no marked field; the mark sits on the field itself, so a new viewer-specific field
 * cannot be forgotten in a list kept elsewhere.
 */
import { Extensions } from "type-graphql";

export const VIEWER_SPECIFIC_EXTENSION = "viewerSpecific";

/** `@ViewerSpecific()` on a `@Field` or `@FieldResolver`: its value depends on the viewer. */
export function ViewerSpecific(): MethodDecorator & PropertyDecorator & ClassDecorator {
  return Extensions({ [VIEWER_SPECIFIC_EXTENSION]: true });
}
