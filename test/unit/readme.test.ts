/**
 * The README's operator and client sections stay true to the code: every topic an operator
 * needs is there, and the codegen snippet maps every custom scalar the schema declares (a new
 * scalar without a mapping would reach frontends as `unknown`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");

/** The text of one `## ` section. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThan(-1);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe("README", () => {
  it("has a Running in production section on signals, health, metrics, logs, CORS and proxies", () => {
    const text = section("Running in production");
    for (const topic of ["**Signals.**", "**Health.**", "**Metrics.**", "**Logs.**", "**CORS.**", "**Proxies.**"]) expect(text).toContain(topic);
    for (const name of [
      "SIGTERM",
      "SHUTDOWN_TIMEOUT_MS",
      "/healthz",
      "/readyz",
      "METRICS_TOKEN",
      "x-request-id",
      "CORS_ORIGINS",
      "TRUST_PROXY",
      "letsapp_event_delivery_seconds",
    ])
      expect(text).toContain(name);
  });

  it("has a Clients section for Apollo Client, urql and graphql-ws whose codegen snippet maps every custom scalar", () => {
    const text = section("Clients");
    for (const lib of ['from "@apollo/client"', 'from "urql"', 'from "graphql-ws"']) expect(text).toContain(lib);
    const scalars = [...readFileSync(path.join(root, "schema/schema.graphql"), "utf8").matchAll(/^scalar (\w+)/gm)].map((m) => m[1]);
    expect(scalars).toContain("DateTime");
    const mapping = /scalars:\n((?:\s+\w+: .+\n)+)/.exec(text)?.[1] ?? "";
    for (const scalar of scalars) expect(mapping, scalar).toMatch(new RegExp(`^\\s+${scalar}: \\w+`, "m"));
  });
});
