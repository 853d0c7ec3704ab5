/** Factories over the real API: register users and get their tokens. */
import { expect } from "vitest";
import type { TestApi } from "./api.js";

export interface TestUser {
  id: string;
  username: string;
  token: string;
}

export async function registerUser(api: TestApi, username: string, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const res = await api.gql<{ register: { accessToken: string; user: { id: string } } }>(
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username.toLowerCase()}@example.com`, password: "password-123", ...extra } },
  );
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return { id: res.data!.register.user.id, username, token: res.data!.register.accessToken };
}
