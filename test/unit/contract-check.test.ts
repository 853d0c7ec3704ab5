/** The contract checker reports what the contract forbids and accepts what it allows. */
import { describe, expect, it } from "vitest";
import { checkContract, type ContractArea } from "../../src/contract-check.js";

const CONTRACT = `
  type Query { me: User!, users(first: Int = 20, after: String): [User!]! }
  interface Node { id: ID! }
  type User implements Node { id: ID!, username: String!, email: String, status: Status! }
  enum Status { ONLINE OFFLINE }
  input RegisterInput { username: String!, fullName: String }
  type AuthPayload { user: User! }
  type Mutation { register(input: RegisterInput!): AuthPayload! }
`;

const AREA_MAP: Record<string, ContractArea> = {
  people: { types: ["Node", "User", "Status", "RegisterInput", "AuthPayload"], query: ["me", "users"], mutation: ["register"] },
};
const check = (served: string): string[] => checkContract(CONTRACT, served, ["people"], AREA_MAP);

describe("contract check", () => {
  it("accepts an exact match and allowed additions", () => {
    const served = CONTRACT.replace("email: String,", "email: String!, extra: Int,").replace(
      "enum Status { ONLINE OFFLINE }",
      "enum Status { ONLINE OFFLINE AWAY }",
    );
    expect(check(CONTRACT)).toEqual([]);
    expect(check(served)).toEqual([]);
  });

  it("reports missing fields, changed types, changed defaults and missing enum values", () => {
    const served = CONTRACT.replace("username: String!, email: String, status: Status!", "username: Int!, status: Status!")
      .replace("users(first: Int = 20, after: String)", "users(first: Int = 10, after: String)")
      .replace("input RegisterInput { username: String!, fullName: String }", "input RegisterInput { username: String!, fullName: String, phone: String! }");
    expect(check(served).sort()).toEqual(
      [
        "RegisterInput.phone is an added required input field",
        "User.email is missing",
        "User.username is Int!, contract says String!",
        "query users(first:) defaults to 10, contract says 20",
      ].sort(),
    );
    expect(check(CONTRACT.replace("enum Status { ONLINE OFFLINE }", "enum Status { ONLINE }"))).toEqual(["enum Status lacks OFFLINE"]);
    expect(check(CONTRACT.replace("type User implements Node", "type User"))).toEqual(["User does not implement Node"]);
  });
});
