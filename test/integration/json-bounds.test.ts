/**
 * JSON inputs (call signals, call metadata) are bounded before any work (issue 9 §4): nested
 * deeper than 32 levels (or larger than the bounds) is BAD_USER_INPUT, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

const nested = (depth: number): unknown => {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = { d: v };
  return v;
};
const nestedLiteral = (depth: number): string => "{ d: ".repeat(depth) + '"leaf"' + " }".repeat(depth);

describe("JSON input bounds", () => {
  let api: TestApi;
  let ann: TestUser;
  let ben: TestUser;
  let callId = "";
  beforeAll(async () => {
    api = await startTestApi();
    ann = await registerUser(api, "ann_j");
    ben = await registerUser(api, "ben_j");
    const call = await api.gql<{ startCall: { id: string } }>(
      `mutation($u: ID!) { startCall(input: { recipientId: $u, callType: VIDEO }) { id } }`,
      { u: ben.id },
      ann.token,
    );
    callId = call.data!.startCall.id;
  });
  afterAll(async () => {
    await api?.stop();
  });

  const SIGNAL = `mutation($c: ID!, $t: ID!, $s: JSON!) { sendCallSignal(callId: $c, toUserId: $t, signal: $s) }`;

  it("accepts 32 levels and refuses 33, as variables or inline", async () => {
    expect((await api.gql(SIGNAL, { c: callId, t: ben.id, s: nested(31) }, ann.token)).data).toEqual({ sendCallSignal: true });
    const deep = await api.gql(SIGNAL, { c: callId, t: ben.id, s: nested(33) }, ann.token);
    expect(deep.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(deep.errors?.[0]?.message).toMatch(/deeper than 32/);
    const inline = await api.gql(
      `mutation($c: ID!, $t: ID!) { sendCallSignal(callId: $c, toUserId: $t, signal: ${nestedLiteral(33)}) }`,
      { c: callId, t: ben.id },
      ann.token,
    );
    expect(inline.errors?.[0]?.message).toMatch(/deeper than 32/);
  });

  it("refuses a very deep value cleanly (no stack overflow, no internal error)", async () => {
    // Written by hand: JSON.stringify itself cannot serialize this deep a value.
    const depth = 20_000;
    const signal = '{"d":'.repeat(depth) + '"leaf"' + "}".repeat(depth);
    const res = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ann.token}` },
      body: `{"query":${JSON.stringify(SIGNAL)},"variables":{"c":"${callId}","t":"${ben.id}","s":${signal}}}`,
    });
    const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("refuses deep or oversized call metadata and stores no call", async () => {
    const [cy, dee] = await Promise.all([registerUser(api, "cy_j"), registerUser(api, "dee_j")]);
    const start = (metadata: unknown) =>
      api.gql(
        `mutation($u: ID!, $m: JSON) { startCall(input: { recipientId: $u, callType: VOICE, metadata: $m }) { id } }`,
        { u: dee.id, m: metadata },
        cy.token,
      );
    const deep = await start(nested(40));
    expect(deep.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(deep.errors?.[0]?.message).toMatch(/deeper than 32/);
    expect((await start({ blob: "x".repeat(70 * 1024) })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await api.db.models.Call.countDocuments({ caller_id: cy.id })).toBe(0);
    expect((await start(nested(5))).errors).toBeUndefined();
  });
});
