/** The schema's descriptions speak to API users: no storage-internal words such as seed numbers. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const sdl = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../schema/schema.graphql"), "utf8");

describe("public schema descriptions", () => {
  it("never mention seed files or stored field names", () => {
    expect(sdl).not.toMatch(/\bseed \d+/i);
    expect(sdl).not.toMatch(/snake_case|collection `/);
  });
});
