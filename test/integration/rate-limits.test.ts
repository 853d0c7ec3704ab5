/** Login and password-reset requests are rate limited per account (and per IP); see also login-throttle.test.ts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

describe("rate limits", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ LOGIN_BACKOFF_BASE_SECONDS: "60" });
    for (const u of ["vic", "wes"]) {
      await api.gql(`mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`, {
        i: { username: u, email: `${u}@example.com`, password: "right-password" },
      });
    }
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("refuses logins to an account from an address after 5 free failures and one more, even with the right password", async () => {
    for (let i = 0; i < 6; i++) {
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

  it("limits how many uploads a user may start per window (each reserves storage)", async () => {
    const limited = await startTestApi({ UPLOAD_RATE_LIMIT: "3" }, { shared: { mongo: api.mongo } });
    try {
      const login = await limited.gql<{ login: { accessToken: string } }>(LOGIN, { input: { login: "wes", password: "right-password" } });
      const token = login.data!.login.accessToken;
      const create = () =>
        limited.gql(`mutation { createUpload(input: { originalFilename: "a.txt", mimeType: "text/plain", fileSize: 10 }) { uploadId } }`, {}, token);
      for (let i = 0; i < 3; i++) expect((await create()).errors).toBeUndefined();
      const refused = await create();
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
      expect(await limited.db.models.Upload.countDocuments()).toBe(3);
    } finally {
      await limited.stop();
    }
  });
});
