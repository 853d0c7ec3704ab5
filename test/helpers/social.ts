/** Factories over the real API for tests about rights: contacts, groups, messages (waiting for subscriptions: helpers/topics.ts). */
import { expect } from "vitest";
import type { GqlResult, TestApi } from "./api.js";
import type { TestUser } from "./users.js";

/** Runs an operation that must succeed and returns its data. */
export async function ok<T = Record<string, unknown>>(api: TestApi, query: string, variables: Record<string, unknown>, user: TestUser | string): Promise<T> {
  const res: GqlResult<T> = await api.gql<T>(query, variables, typeof user === "string" ? user : user.token);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data as T;
}

/** Makes two users accepted contacts (so any privacy setting lets them add each other to groups). */
export async function befriend(api: TestApi, a: TestUser, b: TestUser): Promise<void> {
  await ok(api, `mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: b.id }, a);
  await ok(api, `mutation($u: ID!) { acceptContact(userId: $u) { id } }`, { u: a.id }, b);
}

export async function createGroup(api: TestApi, admin: TestUser, members: TestUser[], name = "g"): Promise<string> {
  for (const m of members) await befriend(api, admin, m);
  const data = await ok<{ createGroup: { id: string } }>(
    api,
    `mutation($n: String!, $m: [ID!]!) { createGroup(input: { name: $n, memberIds: $m }) { id } }`,
    { n: name, m: members.map((m) => m.id) },
    admin,
  );
  return data.createGroup.id;
}

export async function sendGroup(api: TestApi, from: TestUser, groupId: string, content: string): Promise<number> {
  return (
    await ok<{ sendGroupMessage: { seq: number } }>(
      api,
      `mutation($g: ID!, $c: String!) { sendGroupMessage(input: { groupId: $g, content: $c }) { seq } }`,
      { g: groupId, c: content },
      from,
    )
  ).sendGroupMessage.seq;
}

export async function sendDirect(api: TestApi, from: TestUser, to: TestUser, content: string): Promise<string> {
  return (
    await ok<{ sendMessage: { conversationId: string } }>(
      api,
      `mutation($r: ID!, $c: String!) { sendMessage(input: { recipientId: $r, content: $c }) { conversationId } }`,
      { r: to.id, c: content },
      from,
    )
  ).sendMessage.conversationId;
}
