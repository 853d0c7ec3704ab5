/** Contacts: requests both ways, accept/decline/remove, blocking and its visibility, notes/favorites, search. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

const CONTACTS = `query($s: ContactStatus, $f: Boolean) { contacts(status: $s, favoritesOnly: $f) { totalCount edges { node { status notes isFavorite user { username } } } } }`;
const INCOMING = `{ incomingContactRequests { totalCount edges { node { from { username } createdAt } } } }`;
const m = (name: string) => `mutation($u: ID!) { ${name}(userId: $u) { status user { username } } }`;
const b = (name: string) => `mutation($u: ID!) { ${name}(userId: $u) }`;

describe("contacts", () => {
  let api: TestApi;
  let ann: TestUser, ben: TestUser, cy: TestUser, dee: TestUser;

  beforeAll(async () => {
    api = await startTestApi();
    ann = await registerUser(api, "ann", { fullName: "Ann Lee" });
    ben = await registerUser(api, "ben", { fullName: "Benjamin Annis" });
    cy = await registerUser(api, "cyd");
    dee = await registerUser(api, "dee");
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("requests, shows the request to the other user, and accepts it for both", async () => {
    const req = await api.gql(m("requestContact"), { u: ben.id }, ann.token);
    expect(req.data).toEqual({ requestContact: { status: "PENDING", user: { username: "ben" } } });
    expect((await api.gql(INCOMING, {}, ben.token)).data).toMatchObject({
      incomingContactRequests: { totalCount: 1, edges: [{ node: { from: { username: "ann" } } }] },
    });
    const acc = await api.gql(m("acceptContact"), { u: ann.id }, ben.token);
    expect(acc.data).toEqual({ acceptContact: { status: "ACCEPTED", user: { username: "ann" } } });
    expect((await api.gql(CONTACTS, { s: "ACCEPTED" }, ann.token)).data).toMatchObject({
      contacts: { totalCount: 1, edges: [{ node: { user: { username: "ben" } } }] },
    });
    expect((await api.gql(INCOMING, {}, ben.token)).data).toMatchObject({ incomingContactRequests: { totalCount: 0 } });
    const seen = await api.gql<{ user: { contact: { status: string } } }>(
      `query($id: ID!) { user(id: $id) { contact { status } } }`,
      { id: ben.id },
      ann.token,
    );
    expect(seen.data?.user.contact.status).toBe("ACCEPTED");
  });

  it("accepts when both ask, declines, and errors on what does not exist", async () => {
    await api.gql(m("requestContact"), { u: dee.id }, cy.token);
    const back = await api.gql(m("requestContact"), { u: cy.id }, dee.token);
    expect(back.data).toEqual({ requestContact: { status: "ACCEPTED", user: { username: "cyd" } } });
    await api.gql(m("requestContact"), { u: cy.id }, ann.token);
    expect((await api.gql(b("declineContact"), { u: ann.id }, cy.token)).data).toEqual({ declineContact: true });
    expect((await api.gql(b("declineContact"), { u: ann.id }, cy.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(m("acceptContact"), { u: dee.id }, ann.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(m("requestContact"), { u: ann.id }, ann.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await api.gql(m("requestContact"), { u: "123" }, ann.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await api.gql(m("requestContact"), { u: "0123456789abcdef01234567" }, ann.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("keeps notes and favorites on the viewer's own entry", async () => {
    const up = await api.gql(
      `mutation($u: ID!) { updateContact(userId: $u, input: { notes: "met at work", isFavorite: true }) { notes isFavorite } }`,
      { u: ben.id },
      ann.token,
    );
    expect(up.data).toEqual({ updateContact: { notes: "met at work", isFavorite: true } });
    expect((await api.gql(CONTACTS, { f: true }, ann.token)).data).toMatchObject({ contacts: { totalCount: 1 } });
    expect((await api.gql(CONTACTS, { f: true }, ben.token)).data).toMatchObject({ contacts: { totalCount: 0 } });
  });

  it("blocks: requests refused both ways, search and last seen hidden, unblock restores", async () => {
    const block = await api.gql(m("blockUser"), { u: ann.id }, dee.token);
    expect(block.data).toEqual({ blockUser: { status: "BLOCKED", user: { username: "ann" } } });
    expect((await api.gql(m("requestContact"), { u: dee.id }, ann.token)).errors?.[0].extensions?.code).toBe("BLOCKED");
    expect((await api.gql(m("requestContact"), { u: ann.id }, dee.token)).errors?.[0].extensions?.code).toBe("BLOCKED");
    const search = await api.gql<{ searchUsers: { edges: Array<{ node: { username: string } }> } }>(
      `{ searchUsers(query: "de") { edges { node { username } } } }`,
      {},
      ann.token,
    );
    expect(search.data?.searchUsers.edges).toEqual([]);
    // dee shows last seen to everyone (the default is contacts only): the block still hides it from ann.
    expect((await api.gql(`mutation { updateSettings(input: { lastSeenVisibility: EVERYONE }) { id } }`, {}, dee.token)).errors).toBeUndefined();
    const seen = await api.gql<{ user: { lastSeen: string | null } }>(`query($id: ID!) { user(id: $id) { lastSeen } }`, { id: dee.id }, ann.token);
    expect(seen.data?.user.lastSeen).toBeNull();
    const other = await api.gql<{ user: { lastSeen: string | null } }>(`query($id: ID!) { user(id: $id) { lastSeen } }`, { id: dee.id }, ben.token);
    expect(other.data?.user.lastSeen).toEqual(expect.any(String));
    expect((await api.gql(CONTACTS, { s: "BLOCKED" }, dee.token)).data).toMatchObject({ contacts: { totalCount: 1 } });
    expect((await api.gql(b("unblockUser"), { u: ann.id }, dee.token)).data).toEqual({ unblockUser: true });
    expect((await api.gql(b("unblockUser"), { u: ann.id }, dee.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(`{ searchUsers(query: "de") { edges { node { username } } } }`, {}, ann.token)).data).toEqual({
      searchUsers: { edges: [{ node: { username: "dee" } }] },
    });
  });

  it("removes a contact for both users", async () => {
    expect((await api.gql(b("removeContact"), { u: ann.id }, ben.token)).data).toEqual({ removeContact: true });
    expect((await api.gql(CONTACTS, { s: "ACCEPTED" }, ann.token)).data).toMatchObject({ contacts: { totalCount: 0 } });
    expect((await api.gql(b("removeContact"), { u: ann.id }, ben.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("searches by username and full-name prefix, case-insensitively, with pages", async () => {
    const names = async (q: string, token = cy.token) =>
      (
        (
          await api.gql<{ searchUsers: { edges: Array<{ node: { username: string } }> } }>(
            `query($q: String!) { searchUsers(query: $q) { edges { node { username } } } }`,
            { q },
            token,
          )
        ).data?.searchUsers.edges ?? []
      )
        .map((e) => e.node.username)
        .sort();
    expect(await names("ANN")).toEqual(["ann", "ben"]);
    expect(await names("lee")).toEqual(["ann"]);
    expect(await names("benj")).toEqual(["ben"]);
    expect(await names("a.*")).toEqual([]);
    const page1 = await api.gql<{ searchUsers: { edges: Array<{ node: { username: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
      `{ searchUsers(query: "ann", first: 1) { edges { node { username } } pageInfo { hasNextPage endCursor } } }`,
      {},
      cy.token,
    );
    expect(page1.errors, JSON.stringify(page1.errors)).toBeUndefined();
    expect(page1.data?.searchUsers.edges).toHaveLength(1);
    expect(page1.data?.searchUsers.pageInfo.hasNextPage).toBe(true);
    const page2 = await api.gql<{ searchUsers: { edges: Array<{ node: { username: string } }>; pageInfo: { hasNextPage: boolean } } }>(
      `query($a: String) { searchUsers(query: "ann", first: 1, after: $a) { edges { node { username } } pageInfo { hasNextPage } } }`,
      { a: page1.data?.searchUsers.pageInfo.endCursor },
      cy.token,
    );
    expect(page2.errors, JSON.stringify(page2.errors)).toBeUndefined();
    expect(page2.data?.searchUsers.edges).toHaveLength(1);
    expect(page2.data?.searchUsers.edges[0].node.username).not.toBe(page1.data?.searchUsers.edges[0].node.username);
    expect(page2.data?.searchUsers.pageInfo.hasNextPage).toBe(false);
    expect((await api.gql(`{ searchUsers(query: "a", first: 101) { totalCount } }`, {}, cy.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect((await api.gql(`{ searchUsers(query: "a", after: "garbage") { totalCount } }`, {}, cy.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("serves the search from the search_keys index", async () => {
    const plan = await api.db.models.User.find({ search_keys: /^ann/, is_active: true }).explain("queryPlanner");
    expect(JSON.stringify(plan)).toContain("IXSCAN");
  });
});

describe("node(id)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("resolves users and the viewer's own contact entries by id, and nothing else", async () => {
    const a = await registerUser(api, "nodea");
    const b = await registerUser(api, "nodeb");
    const c = await registerUser(api, "nodec");
    const entry = await api.gql<{ requestContact: { id: string } }>(`mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: b.id }, a.token);
    const entryId = entry.data!.requestContact.id;
    const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on User { username } ... on Contact { status } } }`;
    expect((await api.gql(NODE, { id: b.id }, a.token)).data).toEqual({ node: { __typename: "User", id: b.id, username: "nodeb" } });
    expect((await api.gql(NODE, { id: entryId }, a.token)).data).toEqual({ node: { __typename: "Contact", id: entryId, status: "PENDING" } });
    expect((await api.gql(NODE, { id: entryId }, c.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(NODE, { id: "0123456789abcdef01234567" }, a.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(NODE, { id: "x" }, a.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });
});
