/** Accounts over real HTTP: register, login, me, refresh rotation with reuse detection, logout. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { waitFor } from "../helpers/wait.js";

import {
  LoginDocument as LOGIN,
  LogoutDocument,
  MeDocument as ME,
  RefreshTokenDocument,
  RegisterDocument as REGISTER,
  UserByIdDocument,
  type RegisterMutation,
} from "../generated/graphql.js";

type Auth = RegisterMutation["register"];

describe("accounts", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function register(username: string, extra: Record<string, unknown> = {}): Promise<Auth> {
    const res = await api.gql(REGISTER, { input: { username, email: `${username}@example.com`, password: "correct horse", ...extra } });
    expect(res.errors).toBeUndefined();
    return res.data!.register;
  }

  it("serves health and readiness", async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: "up" });
  });

  it("registers, then logs in by username or email, and answers me", async () => {
    const reg = await register("Alice_1", { fullName: "Alice" });
    expect(reg.user).toMatchObject({ username: "Alice_1", email: "alice_1@example.com", fullName: "Alice" });
    const byName = await api.gql(LOGIN, { input: { login: "alice_1", password: "correct horse" } });
    const byEmail = await api.gql(LOGIN, { input: { login: "ALICE_1@example.com", password: "correct horse" } });
    expect(byName.data?.login.user.id).toBe(reg.user.id);
    expect(byEmail.data?.login.user.id).toBe(reg.user.id);
    const me = await api.gql(ME, {}, byName.data!.login.accessToken);
    expect(me.data).toEqual({
      me: { id: reg.user.id, username: "Alice_1", email: "alice_1@example.com", isActive: true, settings: { readReceiptsEnabled: true } },
    });
  });

  it("keeps last_seen current on authenticated requests", async () => {
    const reg = await register("lastseen");
    await api.db.models.User.updateOne({ username: "lastseen" }, { $set: { last_seen: new Date("2020-01-01T00:00:00Z") } });
    // Any authenticated request (not only login) refreshes it.
    expect((await api.gql(ME, {}, reg.accessToken)).errors).toBeUndefined();
    // Written after the response: wait for it.
    const seen = await waitFor(
      async () => {
        const at = (await api.db.models.User.findById(reg.user.id).lean())?.last_seen;
        return at && at.getUTCFullYear() > 2020 && at;
      },
      "last_seen to be refreshed",
      { intervalMs: 20 },
    );
    expect(seen.getTime()).toBeGreaterThan(Date.parse("2021-01-01T00:00:00Z"));
  });

  it("stores the password as an argon2id hash, never in clear", async () => {
    const user = await api.db.models.User.findOne({ username: "Alice_1" }).lean();
    expect(user?.password).toMatch(/^\$argon2id\$v=19\$/);
    expect(user?.password).toContain("m=19456");
    expect(user?.password).toMatch(/[$,]t=2[$,]/);
    expect(user?.password).toMatch(/[$,]p=1[$,]/);
  });

  it("gives the same error for an unknown login and a wrong password", async () => {
    const unknown = await api.gql(LOGIN, { input: { login: "nobody", password: "correct horse" } });
    const wrong = await api.gql(LOGIN, { input: { login: "Alice_1", password: "wrong password" } });
    expect(unknown.errors?.[0]).toMatchObject({ message: "Invalid login or password", extensions: { code: "UNAUTHENTICATED" } });
    expect(wrong.errors?.[0].message).toBe(unknown.errors?.[0].message);
    expect(wrong.errors?.[0].extensions?.code).toBe(unknown.errors?.[0].extensions?.code);
  });

  it("refuses taken usernames, emails and phone numbers case-insensitively (CONFLICT)", async () => {
    await register("bob", { phoneNumber: "+15550001" });
    const sameName = await api.gql(REGISTER, { input: { username: "BOB", email: "other@example.com", password: "correct horse" } });
    expect(sameName.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", fields: [{ field: "username" }] });
    const sameEmail = await api.gql(REGISTER, { input: { username: "bob2", email: "Bob@Example.com", password: "correct horse" } });
    expect(sameEmail.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", fields: [{ field: "email" }] });
    const samePhone = await api.gql(REGISTER, { input: { username: "bob3", email: "bob3@example.com", password: "correct horse", phoneNumber: "+15550001" } });
    expect(samePhone.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", fields: [{ field: "phoneNumber" }] });
    expect(await api.db.models.User.countDocuments({ username: /^bob/i })).toBe(1);
  });

  it("validates register input (BAD_USER_INPUT with fields) and stores nothing", async () => {
    const res = await api.gql(REGISTER, { input: { username: "x!", email: "not-an-email", password: "short", phoneNumber: "12345" } });
    expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const fields = (res.errors?.[0].extensions?.fields as Array<{ field: string }>).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["username", "email", "password", "phoneNumber"]));
    expect(await api.db.models.User.countDocuments({ email: "not-an-email" })).toBe(0);
  });

  it("rotates refresh tokens and revokes the family when a rotated token is presented again", async () => {
    const reg = await register("carol");
    const first = await api.gql(RefreshTokenDocument, { refreshToken: reg.refreshToken });
    expect(first.errors).toBeUndefined();
    const rotated = first.data!.refreshToken;
    expect(rotated.refreshToken).not.toBe(reg.refreshToken);
    // Reuse of the old token: refused, and the newer token dies with its family.
    const reuse = await api.gql(RefreshTokenDocument, { refreshToken: reg.refreshToken });
    expect(reuse.errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
    const after = await api.gql(RefreshTokenDocument, { refreshToken: rotated.refreshToken });
    expect(after.errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
    const me = await api.gql(ME, {}, rotated.accessToken);
    expect(me.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const stored = await api.db.models.Session.findOne({ user_id: reg.user.id }).lean();
    expect(stored?.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("logs out this session or all sessions", async () => {
    const reg = await register("dave");
    const other = (await api.gql(LOGIN, { input: { login: "dave", password: "correct horse" } })).data!.login;
    expect((await api.gql(LogoutDocument, {}, reg.accessToken)).data).toEqual({ logout: true });
    expect((await api.gql(ME, {}, reg.accessToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect((await api.gql(RefreshTokenDocument, { refreshToken: reg.refreshToken })).errors?.[0].extensions?.code).toBe("INVALID_TOKEN");
    expect((await api.gql(ME, {}, other.accessToken)).data).toBeTruthy();
    await api.gql(LogoutDocument, { allSessions: true }, other.accessToken);
    expect((await api.gql(ME, {}, other.accessToken)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("answers UNAUTHENTICATED without a token or with a tampered one, and hides others' email", async () => {
    expect((await api.gql(ME)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const erin = await register("erin");
    // Change a fully significant character of the signature (the last one carries padding bits).
    const at = erin.accessToken.length - 10;
    const tampered = erin.accessToken.slice(0, at) + (erin.accessToken[at] === "A" ? "B" : "A") + erin.accessToken.slice(at + 1);
    expect((await api.gql(ME, {}, tampered)).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const frank = await register("frank");
    const seen = await api.gql(UserByIdDocument, { id: erin.user.id }, frank.accessToken);
    expect(seen.data?.user).toEqual({ username: "erin", email: null, settings: null });
    const bad = await api.gql(`{ user(id: "nope") { id } }`, {}, frank.accessToken);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });
});
