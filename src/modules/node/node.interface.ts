/**
 * The Relay `Node` interface every addressable object implements. Roots are mongoose documents,
 * not class instances, so the concrete type is told apart by a field only it stores.
 */
import { Field, ID, InterfaceType } from "type-graphql";

const TYPE_BY_FIELD: Array<[field: string, type: string]> = [
  ["username", "User"],
  ["contact_id", "Contact"],
  ["media_type", "Media"],
  ["download_count", "File"],
  ["caller_id", "Call"],
];

export function nodeTypeName(value: object): string | undefined {
  return TYPE_BY_FIELD.find(([field]) => field in value)?.[1];
}

@InterfaceType("Node", { resolveType: (value: object) => nodeTypeName(value) })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
