/** The login backoff: free failures, then base, 2×base, 4×base… capped. */
import { describe, expect, it } from "vitest";
import { backoffSeconds } from "../../src/auth/abuse-limits.js";

describe("backoffSeconds", () => {
  it("doubles after the free failures and stops at the cap", () => {
    const limits = { loginFreeFailures: 3, loginBackoffBaseSeconds: 2, loginBackoffMaxSeconds: 60 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000].map((n) => backoffSeconds(n, limits))).toEqual([0, 0, 0, 2, 4, 8, 16, 32, 60, 60]);
  });
});
