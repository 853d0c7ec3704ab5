/** The Relay `Node` interface every addressable object implements. */
import { Field, ID, InterfaceType } from "type-graphql";

@InterfaceType("Node")
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
