/** schema/schema.graphql is generated from the code; this fails when the committed file is stale. */
import "reflect-metadata";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { buildAppSchema } from "../../src/schema.js";

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../schema/schema.graphql");

describe("schema/schema.graphql", () => {
  it("matches the schema built from the code (run `npm run schema` after changing it)", async () => {
    expect(readFileSync(file, "utf8")).toBe(printSchema(await buildAppSchema()) + "\n");
  });
});
