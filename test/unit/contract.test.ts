/**
 * The served schema contains the contract (../shared/api/contract.graphql) for every area
 * served so far — the same check as `npm run schema:check`, inside `npm test`.
 */
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { buildAppSchema } from "../../src/schema.js";
import { CONTRACT_AREAS, SERVED_AREAS, checkContract } from "../../src/contract-check.js";
import { sharedPath } from "../helpers/shared.js";

const contractPath = sharedPath("api/contract.graphql");

describe.skipIf(!contractPath)("contract", () => {
  it("is served for the areas issue 3 covers: node, accounts, contacts and media reads", () => {
    expect(SERVED_AREAS).toEqual(expect.arrayContaining(["node", "accounts", "contacts", "mediaRead"]));
  });

  it("matches the served schema in every served area", async () => {
    const problems = checkContract(readFileSync(contractPath!, "utf8"), printSchema(await buildAppSchema()), SERVED_AREAS);
    expect(problems).toEqual([]);
  });

  it("assigns every type and root field of the contract to an area", async () => {
    const { buildSchema } = await import("graphql");
    const contract = buildSchema(readFileSync(contractPath!, "utf8"));
    const typed = new Set(Object.values(CONTRACT_AREAS).flatMap((a) => a.types));
    const builtIn = new Set(["Query", "Mutation", "Subscription", "DateTime", "JSON", "String", "Int", "Float", "Boolean", "ID"]);
    const unassigned = Object.keys(contract.getTypeMap()).filter((t) => !t.startsWith("__") && !builtIn.has(t) && !typed.has(t));
    expect(unassigned).toEqual([]);
    for (const [root, key] of [
      ["Query", "query"],
      ["Mutation", "mutation"],
      ["Subscription", "subscription"],
    ] as const) {
      const fields = Object.keys((contract.getType(root) as import("graphql").GraphQLObjectType).getFields());
      const listed = new Set(Object.values(CONTRACT_AREAS).flatMap((a) => a[key] ?? []));
      expect(
        fields.filter((f) => !listed.has(f)),
        root,
      ).toEqual([]);
    }
  });
});
