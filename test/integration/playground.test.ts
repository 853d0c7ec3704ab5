/** The playground page works offline (every asset served locally) and introspection follows config. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";

describe("playground and introspection", () => {
  let api: TestApi;
  let closed: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    closed = await startTestApi({ GRAPHQL_INTROSPECTION: "false" });
  });
  afterAll(async () => {
    await api?.stop();
    await closed?.stop();
  });

  it("serves GraphiQL to a browser with every script and style from this server", async () => {
    const page = await fetch(`${api.url}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\/(?!localhost)[a-z]/i);
    const assets = [...html.matchAll(/(?:src|href)="(\/playground\/(?!favicon)[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(4);
    for (const a of assets) {
      const res = await fetch(`${api.url}${a}`);
      expect(res.status, a).toBe(200);
      expect((await res.arrayBuffer()).byteLength, a).toBeGreaterThan(1000);
    }
  });

  it("opens on useful tabs, keeps headers out of localStorage, has a favicon and an SDL download", async () => {
    const html = await (await fetch(`${api.url}/graphql`, { headers: { accept: "text/html" } })).text();
    expect(html).toContain("shouldPersistHeaders: false");
    const tabs = JSON.parse(/const defaultTabs = (.*);\n/.exec(html)![1].replace(/\\u003c/g, "<")) as Array<{ query: string }>;
    expect(tabs.map((t) => /(?:mutation|query|subscription) (\w+)/.exec(t.query)?.[1])).toEqual(["Register", "Me", "NewMessages"]);
    expect(tabs[0].query).toContain("mutation Login");
    for (const icon of ["/favicon.ico", /href="(\/playground\/favicon[^"]+)"/.exec(html)![1]]) {
      const res = await fetch(`${api.url}${icon}`);
      expect(res.status, icon).toBe(200);
      expect(res.headers.get("content-type")).toContain("image/");
    }
    expect(html).toContain('href="/schema.graphql?download"');
    expect((await fetch(`${closed.url}/schema.graphql`)).status).toBe(404);
  });

  it("answers introspection by default, and refuses it when GRAPHQL_INTROSPECTION=false", async () => {
    const open = await api.gql<{ __schema: { queryType: { name: string } } }>(`{ __schema { queryType { name } } }`);
    expect(open.data?.__schema.queryType.name).toBe("Query");
    const off = await closed.gql(`{ __schema { queryType { name } } }`);
    expect(off.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("refuses batched requests and abusive documents", async () => {
    const batch = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]),
    });
    expect(batch.status).toBe(400);
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(" ");
    const res = await api.gql(`{ ${aliases} }`);
    expect(res.errors?.[0].message).toMatch(/alias/i);
    const deep = "{ me { " + "contact { user { ".repeat(8) + "id" + " } }".repeat(8) + " } }";
    const tooDeep = await api.gql(deep);
    expect(tooDeep.errors?.[0].message).toMatch(/depth/i);
  });
});
