/**
 * Shared subscription execution runs a document once per event for all its subscribers only
 * when it selects no field marked `@ViewerSpecific()`. These tests read the marks from a tiny
 * schema (plain fields, a field resolver, fragments, aliases) and check that the app's schema
 * carries the marks on every field the old hand-kept list of names covered.
 */
import "reflect-metadata";
import { describe, expect, it } from "vitest";
import { isObjectType, isInterfaceType, parse, type GraphQLSchema } from "graphql";
import { Field, FieldResolver, Int, ObjectType, Query, Resolver, buildSchema } from "type-graphql";
import { ViewerSpecific, VIEWER_SPECIFIC_EXTENSION } from "../../src/subscriptions/viewer-specific.js";
import { isViewerIndependent } from "../../src/subscriptions/shared-execution.js";
import { buildAppSchema } from "../../src/schema.js";

@ObjectType("VsItem")
class VsItem {
  @Field()
  name!: string;

  @Field(() => Int)
  @ViewerSpecific()
  unread!: number;

  @Field(() => VsItem, { nullable: true })
  child!: VsItem | null;
}

@Resolver(() => VsItem)
class VsResolver {
  @Query(() => VsItem)
  item(): VsItem {
    return { name: "x", unread: 0, child: null };
  }

  @FieldResolver(() => Int)
  @ViewerSpecific()
  score(): number {
    return 1;
  }

  @FieldResolver(() => String)
  label(): string {
    return "label";
  }
}

// The metadata is global: the app's decorators (imported above) are in it too, @Authorized among them.
let tinySchema: Promise<GraphQLSchema> | undefined;
const tiny = () => (tinySchema ??= buildSchema({ resolvers: [VsResolver], authChecker: () => true }));
const independent = async (query: string) => isViewerIndependent(await tiny(), parse(query));

describe("isViewerIndependent", () => {
  it("shares documents that select only unmarked fields, including field resolvers and __typename", async () => {
    expect(await independent(`{ item { name label __typename child { name } } }`)).toBe(true);
  });

  it("does not share a document selecting a marked field, a marked field resolver, or one nested deeper", async () => {
    expect(await independent(`{ item { unread } }`)).toBe(false);
    expect(await independent(`{ item { score } }`)).toBe(false);
    expect(await independent(`{ item { child { child { unread } } } }`)).toBe(false);
  });

  it("goes by the field, not by the name the client gives it (aliases)", async () => {
    expect(await independent(`{ item { n: unread } }`)).toBe(false);
    expect(await independent(`{ item { unread: name score: label } }`)).toBe(true);
  });

  it("looks into named fragments and inline fragments", async () => {
    expect(await independent(`query { item { ...F } } fragment F on VsItem { child { unread } }`)).toBe(false);
    expect(await independent(`query { item { ...F } } fragment F on VsItem { child { name } }`)).toBe(true);
    expect(await independent(`{ item { ... on VsItem { score } } }`)).toBe(false);
    expect(await independent(`{ item { ... { name } } }`)).toBe(true);
  });

  it("treats a field the schema does not know as viewer-specific", async () => {
    expect(await independent(`{ item { nonsense } }`)).toBe(false);
  });

  it("answers the same document from its cache, per schema", async () => {
    const doc = parse(`{ item { name } }`);
    const schema = await tiny();
    expect(isViewerIndependent(schema, doc)).toBe(true);
    expect(isViewerIndependent(schema, doc)).toBe(true);
    // Another schema where `item.name` does not exist: its own answer, not the cached one.
    const other = await buildAppSchema();
    expect(isViewerIndependent(other, doc)).toBe(false);
  });
});

/** The names the hand-kept list in shared-execution.ts held before the marks replaced it. */
const OLD_LIST = [
  "status",
  "readCount",
  "deliveredCount",
  "readBy",
  "receipts",
  "email",
  "settings",
  "lastSeen",
  "contact",
  "presence",
  "phoneNumber",
  "profilePicture",
  "unreadCount",
  "readSeq",
  "deliveredSeq",
  "peer",
  "viewerRole",
  "url",
  "thumbnailUrl",
];

describe("the app schema's marks", () => {
  it("marks every field of an object or interface type named in the old list", async () => {
    const schema = await buildAppSchema();
    const found: string[] = [];
    const unmarked: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      // Root types are left out: a subscription document selects only Subscription fields at the root.
      if (
        type.name.startsWith("__") ||
        [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].includes(type as never) ||
        (!isObjectType(type) && !isInterfaceType(type))
      )
        continue;
      for (const field of Object.values(type.getFields())) {
        if (!OLD_LIST.includes(field.name)) continue;
        found.push(`${type.name}.${field.name}`);
        if (field.extensions?.[VIEWER_SPECIFIC_EXTENSION] !== true) unmarked.push(`${type.name}.${field.name}`);
      }
    }
    // The walk did find the fields (a renamed extension key would otherwise pass silently).
    expect(found).toEqual(expect.arrayContaining(["Message.status", "Conversation.unreadCount", "GroupMessage.readBy", "Group.viewerRole"]));
    expect(unmarked).toEqual([]);
  });
});
