/** Login and password-reset requests are rate limited per account (and per IP). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

describe("rate limits", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    for (const u of ["vic", "wes"]) {
      await api.gql(`mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: u, email: `${u}@example.com`, password: "right-password" } });
    }
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("refuses logins to an account after 10 attempts in the window, even with the right password", async () => {
    for (let i = 0; i < 10; i++) {
      const res = await api.gql(LOGIN, { input: { login: "vic", password: `wrong-${i}` } });
      expect(res.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    }
    const limited = await api.gql(LOGIN, { input: { login: "VIC", password: "right-password" } });
    expect(limited.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
    expect(limited.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect((await api.gql(LOGIN, { input: { login: "wes", password: "right-password" } })).data).toBeTruthy();
  });

  it("limits password reset requests per account", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await api.gql(`mutation { requestPasswordReset(email: "wes@example.com") }`)).data).toEqual({ requestPasswordReset: true });
    }
    const limited = await api.gql(`mutation { requestPasswordReset(email: "wes@example.com") }`);
    expect(limited.errors?.[0].extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(api.mailer.outbox).toHaveLength(5);
  });
});
