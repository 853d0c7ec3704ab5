/**
 * Access-token checks with the verified-token cache (src/auth/tokens.ts): a token verified once
 * still stops at its expiry, a tampered copy or another secret's token never rides on a cached
 * entry, and a login's hard end shortens the token. The clock is the service's own (moved here).
 */
import { describe, expect, it } from "vitest";
import { TokenService } from "../../src/auth/tokens.js";

const secret = new TextEncoder().encode("unit-secret-unit-secret-unit-secret-0000");

function clock(start = Date.parse("2026-11-28T12:00:00Z")) {
  let t = start;
  return { now: () => new Date(t), move: (ms: number) => (t += ms) };
}

describe("access tokens", () => {
  it("a verified token answers until its expiry, then never again", async () => {
    // issueAccess stamps with the real clock; checks use the service's clock, started at the real now.
    const real = clock(Date.now());
    const tokens = new TokenService(secret, 60, real.now);
    const { token } = await tokens.issueAccess({ userId: "u1", sessionId: "s1" });
    const first = (await tokens.verifyAccess(token))!;
    expect(first).toMatchObject({ userId: "u1", sessionId: "s1" });
    // The token's exp, in whole seconds.
    const exp = first.expiresAt!.getTime();
    real.move(exp - 1 - real.now().getTime());
    expect(await tokens.verifyAccess(token)).toMatchObject({ userId: "u1", sessionId: "s1" });
    real.move(1);
    expect(await tokens.verifyAccess(token)).toBeNull();
    expect(await tokens.verifyAccess(token)).toBeNull();
  });

  it("a tampered copy of a verified token, or another secret's token, is refused", async () => {
    const tokens = new TokenService(secret, 60);
    const { token } = await tokens.issueAccess({ userId: "u1", sessionId: "s1" });
    expect(await tokens.verifyAccess(token)).not.toBeNull();
    const [head, body, sig] = token.split(".");
    const flipped = sig[0] === "A" ? "B" + sig.slice(1) : "A" + sig.slice(1);
    expect(await tokens.verifyAccess(`${head}.${body}.${flipped}`)).toBeNull();
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), sub: "u2" })).toString("base64url");
    expect(await tokens.verifyAccess(`${head}.${forged}.${sig}`)).toBeNull();
    const other = new TokenService(new TextEncoder().encode("other-secret-other-secret-other-secret-00"), 60);
    expect(await other.verifyAccess(token)).toBeNull();
    expect(await tokens.verifyAccess(token)).toMatchObject({ userId: "u1" });
  });

  it("a token issued against a login's end stops there", async () => {
    const real = clock(Date.now());
    const tokens = new TokenService(secret, 900, real.now);
    const end = new Date(Date.now() + 120_000);
    const { token, expiresAt } = await tokens.issueAccess({ userId: "u1", sessionId: "s1" }, end);
    expect(expiresAt.getTime()).toBe(end.getTime());
    expect(await tokens.verifyAccess(token)).not.toBeNull();
    real.move(121_000);
    expect(await tokens.verifyAccess(token)).toBeNull();
  });

  it("callers get their own copy of the claims", async () => {
    const tokens = new TokenService(secret, 60);
    const { token } = await tokens.issueAccess({ userId: "u1", sessionId: "s1" });
    const first = (await tokens.verifyAccess(token))!;
    first.userId = "changed";
    expect((await tokens.verifyAccess(token))!.userId).toBe("u1");
  });
});
