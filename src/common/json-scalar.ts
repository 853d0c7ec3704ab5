/**
 * The contract's `JSON` scalar (call metadata, WebRTC signals, settings): graphql-scalars'
 * GraphQLJSON, except that JSON written inline in a document comes out as ordinary objects
 * (GraphQLJSON builds those with a null prototype, which class-validator refuses and mongoose
 * may not expect; variables already arrive as ordinary objects), and that every value is
 * bounded before any resolver sees it: at most MAX_JSON_DEPTH levels and MAX_JSON_BYTES
 * serialized. Recursive code downstream (validators, mongoose casting, JSON.stringify of
 * events) cannot then be driven into deep recursion.
 */
import { GraphQLError, GraphQLScalarType } from "graphql";
import { GraphQLJSON } from "graphql-scalars";

export const MAX_JSON_DEPTH = 32;
/** A coarse bound for any JSON value; services keep their own, tighter ones (signals 64 KB, call metadata 8 KB) with field names. */
export const MAX_JSON_BYTES = 128 * 1024;

const refuse = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });

/** Throws BAD_USER_INPUT past the depth or size bound; iterative, so a deep value cannot overflow the stack here. */
export function assertJsonBounds(value: unknown): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > MAX_JSON_DEPTH) throw refuse(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  if (Buffer.byteLength(JSON.stringify(value) ?? "") > MAX_JSON_BYTES) throw refuse(`JSON larger than ${MAX_JSON_BYTES} bytes`);
}

export const JSONScalar = new GraphQLScalarType({
  ...GraphQLJSON.toConfig(),
  parseValue: (value) => {
    assertJsonBounds(value);
    return GraphQLJSON.parseValue(value);
  },
  parseLiteral: (ast, variables) => {
    const value = structuredClone(GraphQLJSON.parseLiteral(ast, variables));
    assertJsonBounds(value);
    return value;
  },
});
