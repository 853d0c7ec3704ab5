/** Password reset: mail with a token, SHA-256 stored, single use, expiry, sessions revoked. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { sha256 } from "../../src/auth/tokens.js";

const REQUEST = `mutation($e: String!) { requestPasswordReset(email: $e) }`;
const RESET = `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

describe("password reset", () => {
  let api: TestApi;
  let access = "";
  beforeAll(async () => {
    api = await startTestApi();
    const reg = await api.gql<{ register: { accessToken: string } }>(
      `mutation { register(input: { username: "uma", email: "uma@example.com", password: "old-password" }) { accessToken } }`,
    );
    access = reg.data!.register.accessToken;
  });
  afterAll(async () => {
    await api?.stop();
  });

  const tokenFromMail = (): string => {
    const mail = api.mailer.outbox.at(-1)!;
    return /token=([A-Za-z0-9_-]+)/.exec(mail.text)![1];
  };

  it("answers true for an unknown email and sends nothing", async () => {
    expect((await api.gql(REQUEST, { e: "nobody@example.com" })).data).toEqual({ requestPasswordReset: true });
    expect(api.mailer.outbox).toHaveLength(0);
  });

  it("mails a token stored only as its SHA-256, usable once, and revokes every session", async () => {
    expect((await api.gql(REQUEST, { e: "UMA@example.com" })).data).toEqual({ requestPasswordReset: true });
    expect(api.mailer.outbox).toHaveLength(1);
    expect(api.mailer.outbox[0].to).toBe("uma@example.com");
    const token = tokenFromMail();
    expect(Buffer.from(token, "base64url").length).toBeGreaterThanOrEqual(32);
    const stored = await api.db.models.PasswordReset.findOne({}).lean();
    expect(stored?.token).toBe(sha256(token));
    expect(stored?.expiry.getTime()).toBeGreaterThan(Date.now() + 59 * 60 * 1000);

    // A reused password is refused and leaves the token usable.
    expect((await api.gql(RESET, { t: token, p: "old-password" })).errors?.[0].extensions?.code).toBe("PASSWORD_REUSED");
    expect((await api.gql(RESET, { t: token, p: "new-password" })).data).toEqual({ resetPassword: true });
    expect((await api.gql(RESET, { t: token, p: "newer-password" })).errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
    expect((await api.gql(`{ me { id } }`, {}, access)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await api.gql(LOGIN, { input: { login: "uma", password: "new-password" } })).data).toBeTruthy();
    expect((await api.gql(LOGIN, { input: { login: "uma", password: "old-password" } })).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("refuses unknown and expired tokens", async () => {
    expect((await api.gql(RESET, { t: "made-up", p: "another-password" })).errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
    await api.gql(REQUEST, { e: "uma@example.com" });
    const token = tokenFromMail();
    await api.db.models.PasswordReset.updateOne({ token: sha256(token) }, { $set: { expiry: new Date(Date.now() - 1000) } });
    expect((await api.gql(RESET, { t: token, p: "another-password" })).errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
  });
});
