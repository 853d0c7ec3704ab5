/**
 * The GraphQL schema, built from the code with type-graphql. `npm run schema` writes it to
 * schema/schema.graphql (committed); a test fails when that file is stale.
 */
import "reflect-metadata";
import { DateTimeResolver } from "graphql-scalars";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { authChecker } from "./auth/auth-checker.js";
import { AccountResolver } from "./modules/account/account.resolver.js";
import { UserResolver } from "./modules/user/user.resolver.js";
import { ContactRequestResolver, ContactResolver } from "./modules/contact/contact.resolver.js";
import { FileResolver, MediaResolver } from "./modules/media/media.resolver.js";
import { NodeResolver } from "./modules/node/node.resolver.js";

export const resolvers = [AccountResolver, UserResolver, ContactResolver, ContactRequestResolver, MediaResolver, FileResolver, NodeResolver] as const;

export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: { forbidUnknownValues: false },
  });
}
