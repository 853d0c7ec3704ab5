/**
 * The security log (issue 9 §2) over real HTTP: logins (ok and failed), password changes and
 * resets, revocations, deactivation and group admin actions, each readable by its own user
 * only through `securityEvents` (paginated); a failed login naming no account is nobody's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { SecurityEventType } from "../../src/modules/audit/security-event.entity.js";

const LOGIN = `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`;
const EVENTS = `query($first: Int, $after: String) { securityEvents(first: $first, after: $after) { edges { node { id type ip details createdAt } } pageInfo { hasNextPage endCursor } } }`;

interface EventNode {
  id: string;
  type: string;
  ip: string | null;
  details: Record<string, unknown> | null;
  createdAt: string;
}
interface EventsPage {
  securityEvents: { edges: Array<{ node: EventNode }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

describe("security log", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ AUDIT_RETENTION_DAYS: "7" });
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function allEvents(token: string): Promise<EventNode[]> {
    const out: EventNode[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { data?: EventsPage | null; errors?: unknown } = await api.gql<EventsPage>(EVENTS, { first: 2, after }, token);
      expect(page.errors, JSON.stringify(page.errors)).toBeUndefined();
      out.push(...page.data!.securityEvents.edges.map((e) => e.node));
      if (!page.data!.securityEvents.pageInfo.hasNextPage) return out;
      after = page.data!.securityEvents.pageInfo.endCursor;
    }
  }

  it("records the account's security events, newest first, for that user only", async () => {
    await registerUser(api, "kim_l");
    const lee = await registerUser(api, "lee_l");
    expect((await api.gql(LOGIN, { i: { login: "kim_l", password: "wrong" } })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await api.gql(LOGIN, { i: { login: "nobody_l", password: "wrong" } })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const session = await api.gql<{ login: { accessToken: string } }>(LOGIN, { i: { login: "kim_l@example.com", password: "password-123" } });
    const token = session.data!.login.accessToken;
    expect((await api.gql(`mutation { changePassword(currentPassword: "password-123", newPassword: "password-456") }`, {}, token)).errors).toBeUndefined();
    const group = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "crew", memberIds: [] } },
      token,
    );
    const groupId = group.data!.createGroup.id;
    expect(
      (await api.gql(`mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, { g: groupId, u: [lee.id] }, token)).errors,
    ).toBeUndefined();
    expect(
      (await api.gql(`mutation($g: ID!, $u: ID!) { setGroupRole(groupId: $g, userId: $u, role: ADMIN) { id } }`, { g: groupId, u: lee.id }, token)).errors,
    ).toBeUndefined();
    expect(
      (await api.gql(`mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g: groupId, u: lee.id }, token)).errors,
    ).toBeUndefined();
    expect((await api.gql(`mutation($g: ID!) { deactivateGroup(id: $g) { id } }`, { g: groupId }, token)).errors).toBeUndefined();
    expect((await api.gql(`mutation { logout(allSessions: false) }`, {}, token)).errors).toBeUndefined();

    const again = (await api.gql<{ login: { accessToken: string } }>(LOGIN, { i: { login: "kim_l", password: "password-456" } })).data!.login.accessToken;
    const events = await allEvents(again);
    expect(events.map((e) => e.type)).toEqual([
      "LOGIN_SUCCEEDED",
      "SESSION_REVOKED",
      "GROUP_DEACTIVATED",
      "GROUP_MEMBER_REMOVED",
      "GROUP_ROLE_CHANGED",
      "GROUP_MEMBERS_ADDED",
      "PASSWORD_CHANGED",
      "LOGIN_SUCCEEDED",
      "LOGIN_FAILED",
    ]);
    expect(events.find((e) => e.type === "LOGIN_FAILED")!.ip).toMatch(/127\.0\.0\.1|::1/);
    expect(events.find((e) => e.type === "GROUP_MEMBERS_ADDED")!.details).toEqual({ groupId, userIds: [lee.id] });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // Lee sees none of Kim's events, and nobody sees the failed login naming no account.
    expect(await allEvents(lee.token)).toEqual([]);
    const orphan = await api.db.models.SecurityEvent.find({ user_id: null }).lean();
    expect(orphan.map((o) => [o.type, o.details])).toEqual([["LOGIN_FAILED", { login: "nobody_l" }]]);
    // Kept AUDIT_RETENTION_DAYS, by a TTL index.
    const stored = await api.db.models.SecurityEvent.findOne({ type: SecurityEventType.PASSWORD_CHANGED }).lean();
    const days = (stored!.expires_at.getTime() - stored!.created_at.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(7, 2);
    const indexes = await api.db.connection.collection("security_events").indexes();
    expect(indexes.find((i) => i.key.expires_at === 1)?.expireAfterSeconds).toBe(0);
  });

  it("records password resets and deactivation", async () => {
    const mo = await registerUser(api, "mo_l");
    await api.gql(`mutation { requestPasswordReset(email: "mo_l@example.com") }`);
    const token = /token=([A-Za-z0-9_-]+)/.exec(api.mailer.outbox.at(-1)!.text)![1];
    expect((await api.gql(`mutation($t: String!) { resetPassword(token: $t, newPassword: "password-999") }`, { t: token })).errors).toBeUndefined();
    const fresh = (await api.gql<{ login: { accessToken: string } }>(LOGIN, { i: { login: "mo_l", password: "password-999" } })).data!.login.accessToken;
    expect((await allEvents(fresh)).map((e) => e.type)).toEqual(["LOGIN_SUCCEEDED", "PASSWORD_RESET", "PASSWORD_RESET_REQUESTED"]);
    expect((await api.gql(`mutation { deactivateAccount(password: "password-999") }`, {}, fresh)).errors).toBeUndefined();
    const last = await api.db.models.SecurityEvent.find({ user_id: mo.id }).sort({ created_at: -1, _id: -1 }).limit(1).lean();
    expect(last[0].type).toBe("ACCOUNT_DEACTIVATED");
  });

  it("is readable only when signed in", async () => {
    expect((await api.gql(EVENTS, { first: 5 })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
