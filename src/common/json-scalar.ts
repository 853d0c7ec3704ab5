/**
 * The contract's `JSON` scalar (call metadata, WebRTC signals): graphql-scalars' GraphQLJSON,
 * except that JSON written inline in a document comes out as ordinary objects. GraphQLJSON
 * builds those with a null prototype, which class-validator refuses and mongoose may not
 * expect; variables already arrive as ordinary objects.
 */
import { GraphQLScalarType } from "graphql";
import { GraphQLJSON } from "graphql-scalars";

export const JSONScalar = new GraphQLScalarType({
  ...GraphQLJSON.toConfig(),
  parseLiteral: (ast, variables) => structuredClone(GraphQLJSON.parseLiteral(ast, variables)),
});
