/** changePassword (history of 5, PASSWORD_REUSED, other sessions revoked), profile, settings, deactivation. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }`;
const CHANGE = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
const ME = `{ me { id fullName bio phoneNumber settings { notificationsEnabled readReceiptsEnabled typingIndicatorsEnabled } } }`;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  user?: { id: string };
}

describe("account settings and passwords", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function register(username: string, password = "password-0"): Promise<Tokens> {
    const res = await api.gql<{ register: Tokens }>(REGISTER, { input: { username, email: `${username}@example.com`, password } });
    expect(res.errors).toBeUndefined();
    return res.data!.register;
  }
  const login = async (username: string, password: string) => api.gql<{ login: Tokens }>(LOGIN, { input: { login: username, password } });

  it("changes the password, keeps the last five in history and refuses reuse", async () => {
    const me = await register("pat");
    const other = (await login("pat", "password-0")).data!.login;
    let current = "password-0";
    for (let i = 1; i <= 6; i++) {
      const res = await api.gql(CHANGE, { c: current, n: `password-${i}` }, me.accessToken);
      expect(res.data).toEqual({ changePassword: true });
      current = `password-${i}`;
    }
    // Current (6) and the last five (1..5) are refused; 0 has left the history.
    for (const reused of ["password-6", "password-5", "password-1"]) {
      const res = await api.gql(CHANGE, { c: current, n: reused }, me.accessToken);
      expect(res.errors?.[0].extensions?.code).toBe("PASSWORD_REUSED");
    }
    expect((await api.gql(CHANGE, { c: current, n: "password-0" }, me.accessToken)).data).toEqual({ changePassword: true });
    const stored = await api.db.models.User.findOne({ username: "pat" }).lean();
    expect(stored?.password_history).toHaveLength(5);
    expect(stored?.last_password_change).toBeInstanceOf(Date);
    // The other session was revoked; this one still works.
    expect((await api.gql(ME, {}, other.accessToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await api.gql(ME, {}, me.accessToken)).data).toBeTruthy();
    expect((await login("pat", "password-0")).data?.login.accessToken).toBeTruthy();
  });

  it("refuses a wrong current password and a short new one, changing nothing", async () => {
    const me = await register("quinn");
    const wrong = await api.gql(CHANGE, { c: "nope-nope", n: "password-9" }, me.accessToken);
    expect(wrong.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "currentPassword" }] });
    const short = await api.gql(CHANGE, { c: "password-0", n: "short" }, me.accessToken);
    expect(short.errors?.[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "newPassword" }] });
    expect((await login("quinn", "password-0")).data?.login).toBeTruthy();
  });

  it("updates the profile and settings of the viewer only", async () => {
    const me = await register("rae");
    const res = await api.gql(
      `mutation { updateProfile(input: { fullName: "Rae R", bio: "hi", phoneNumber: "+15551234" }) { fullName bio phoneNumber } }`,
      {},
      me.accessToken,
    );
    expect(res.data).toEqual({ updateProfile: { fullName: "Rae R", bio: "hi", phoneNumber: "+15551234" } });
    const other = await register("sam");
    const taken = await api.gql(`mutation { updateProfile(input: { phoneNumber: "+15551234" }) { id } }`, {}, other.accessToken);
    expect(taken.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", fields: [{ field: "phoneNumber" }] });
    const bad = await api.gql(`mutation { updateProfile(input: { phoneNumber: "555" }) { id } }`, {}, other.accessToken);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const settings = await api.gql(
      `mutation { updateSettings(input: { readReceiptsEnabled: false }) { settings { notificationsEnabled readReceiptsEnabled typingIndicatorsEnabled } } }`,
      {},
      me.accessToken,
    );
    expect(settings.data).toEqual({ updateSettings: { settings: { notificationsEnabled: true, readReceiptsEnabled: false, typingIndicatorsEnabled: true } } });
    const cleared = await api.gql(`mutation { updateProfile(input: { phoneNumber: null }) { phoneNumber } }`, {}, me.accessToken);
    expect(cleared.data).toEqual({ updateProfile: { phoneNumber: null } });
  });

  it("deactivates an account: sessions revoked, login refused", async () => {
    const me = await register("tess");
    const wrong = await api.gql(`mutation { deactivateAccount(password: "wrong-pass") }`, {}, me.accessToken);
    expect(wrong.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await api.gql(`mutation { deactivateAccount(password: "password-0") }`, {}, me.accessToken)).data).toEqual({ deactivateAccount: true });
    expect((await api.gql(ME, {}, me.accessToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const again = await login("tess", "password-0");
    expect(again.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const refresh = await api.gql(`mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: me.refreshToken });
    expect(refresh.errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
  });
});
