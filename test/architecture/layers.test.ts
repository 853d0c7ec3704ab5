/**
 * The import graph of src/, read with TypeScript's own pre-processor (every import, export-from
 * and `declare module` reference, type-only ones included), checked against three layers:
 * - shared (common/, auth/, storage/, subscriptions/, mail/, http/, pubsub.ts, context.ts,
 *   errors.ts, config.ts, playground.ts) imports nothing from modules/ or the root;
 * - features (modules/<feature>/) import nothing from the root, and feature folders form no
 *   cycle;
 * - the root (everything else at src/: index, server, services, schema, loaders, models, …)
 *   composes; the embedded database (embedded-mongo/) imports nothing outside itself.
 * A failure names each offending import.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { layerOf, featureCycles, importGraph, violations } from "./layers.js";

const SRC = path.resolve(import.meta.dirname, "../../src");

describe("layers of src/", () => {
  const graph = importGraph(SRC, readdirSync, (f) => readFileSync(f, "utf8"), ts);

  it("reads a real graph (every file, with its imports)", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("server.ts")).toContain("services.ts");
    expect(graph.get("modules/message/message.events.ts")).toContain("modules/conversation/conversation.events.ts");
  });

  it("places files in layers", () => {
    expect(layerOf("common/database.ts")).toBe("shared");
    expect(layerOf("pubsub.ts")).toBe("shared");
    expect(layerOf("modules/user/user.entity.ts")).toBe("feature");
    expect(layerOf("services.ts")).toBe("root");
    expect(layerOf("embedded-mongo/query.ts")).toBe("engine");
  });

  it("finds violations and cycles in a made-up graph (the checks can fail)", () => {
    const bad = new Map([
      ["pubsub.ts", ["modules/user/user.view.ts"]],
      ["modules/user/user.service.ts", ["services.ts", "modules/contact/contact.entity.ts"]],
      ["modules/contact/contact.entity.ts", ["modules/user/user.entity.ts"]],
      ["embedded-mongo/query.ts", ["errors.ts"]],
      ["services.ts", ["modules/user/user.service.ts"]],
    ]);
    expect(violations(bad)).toEqual([
      "pubsub.ts (shared) imports modules/user/user.view.ts (feature)",
      "modules/user/user.service.ts (feature) imports services.ts (root)",
      "embedded-mongo/query.ts (engine) imports errors.ts (shared)",
    ]);
    expect(featureCycles(bad)).toEqual(["contact, user"]);
  });

  it("every import goes downward", () => {
    expect(violations(graph)).toEqual([]);
  });

  it("no cycle between feature folders", () => {
    expect(featureCycles(graph)).toEqual([]);
  });
});
