/**
 * The last value of a stream that ends because the subscriber lost the right to it (removed
 * from a group, …). Subscription execution turns it into a result carrying the error (with its
 * code), and the stream then completes. Thrown instead, graphql-ws would send the message
 * without the error's code.
 */
import type { GraphQLError } from "graphql";

export class StreamError {
  constructor(readonly error: GraphQLError) {}
}
