/** Groups: roles and admin-only rules, leaving and promotion, deactivation, the 1,024 cap, blocks, receipts. */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

const CREATE = `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id name memberCount viewerRole admins { username } creator { username } isActive } }`;
const GROUP = `query($id: ID!) { group(id: $id) { name description memberCount viewerRole isActive admins { username } members { totalCount edges { node { role user { username } } } } } }`;
const SEND = `mutation($g: ID!, $c: String!) { sendGroupMessage(input: { groupId: $g, content: $c }) { id seq readCount deliveredCount } }`;

describe("groups", () => {
  let api: TestApi;
  let ada: TestUser, ben: TestUser, cat: TestUser, dov: TestUser;
  let groupId = "";

  beforeAll(async () => {
    api = await startTestApi();
    ada = await registerUser(api, "ada_g");
    ben = await registerUser(api, "ben_g");
    cat = await registerUser(api, "cat_g");
    dov = await registerUser(api, "dov_g");
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("creates a group with the creator as admin, and stores it true to the seed", async () => {
    const res = await api.gql<{ createGroup: { id: string } }>(
      CREATE,
      { i: { name: "Hikers", description: "weekend trips", memberIds: [ben.id, cat.id, ben.id] } },
      ada.token,
    );
    expect(res.data?.createGroup).toMatchObject({
      name: "Hikers",
      memberCount: 3,
      viewerRole: "ADMIN",
      admins: [{ username: "ada_g" }],
      creator: { username: "ada_g" },
      isActive: true,
    });
    groupId = res.data!.createGroup.id;
    const seen = await api.gql(GROUP, { id: groupId }, ben.token);
    expect(seen.data).toMatchObject({ group: { viewerRole: "MEMBER", members: { totalCount: 3 } } });
    // An outsider learns nothing, not even that the group exists (privacy: NOT_FOUND, as for an unknown id).
    expect((await api.gql(GROUP, { id: groupId }, dov.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const convs = await api.gql<{ conversations: { edges: Array<{ node: { __typename: string; id: string } }> } }>(
      `{ conversations { edges { node { __typename id } } } }`,
      {},
      cat.token,
    );
    expect(convs.data?.conversations.edges).toEqual([{ node: { __typename: "GroupConversation", id: groupId } }]);
  });

  it("keeps admin-only changes to admins (FORBIDDEN otherwise)", async () => {
    expect(
      (await api.gql(`mutation($id: ID!) { updateGroup(id: $id, input: { name: "x" }) { id } }`, { id: groupId }, ben.token)).errors?.[0].extensions?.code,
    ).toBe("FORBIDDEN");
    expect(
      (await api.gql(`mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, { g: groupId, u: [dov.id] }, ben.token)).errors?.[0]
        .extensions?.code,
    ).toBe("FORBIDDEN");
    expect(
      (await api.gql(`mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g: groupId, u: cat.id }, ben.token)).errors?.[0]
        .extensions?.code,
    ).toBe("FORBIDDEN");
    expect(
      (await api.gql(`mutation($g: ID!, $u: ID!) { setGroupRole(groupId: $g, userId: $u, role: ADMIN) { id } }`, { g: groupId, u: ben.id }, ben.token))
        .errors?.[0].extensions?.code,
    ).toBe("FORBIDDEN");
    expect((await api.gql(`mutation($id: ID!) { deactivateGroup(id: $id) { id } }`, { id: groupId }, ben.token)).errors?.[0].extensions?.code).toBe(
      "FORBIDDEN",
    );
    const upd = await api.gql(`mutation($id: ID!) { updateGroup(id: $id, input: { name: "Hikers & Bikers" }) { name } }`, { id: groupId }, ada.token);
    expect(upd.data).toEqual({ updateGroup: { name: "Hikers & Bikers" } });
  });

  it("adds members (not someone who blocked the adder), and new members do not inherit unread history", async () => {
    await api.gql(SEND, { g: groupId, c: "before dov" }, ada.token);
    await api.gql(`mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: ada.id }, dov.token);
    expect(
      (await api.gql(`mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, { g: groupId, u: [dov.id] }, ada.token)).errors?.[0]
        .extensions?.code,
    ).toBe("BLOCKED");
    await api.gql(`mutation($u: ID!) { unblockUser(userId: $u) }`, { u: ada.id }, dov.token);
    const added = await api.gql(
      `mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { memberCount } }`,
      { g: groupId, u: [dov.id] },
      ada.token,
    );
    expect(added.data).toEqual({ addGroupMembers: { memberCount: 4 } });
    const conv = await api.gql(`query($id: ID!) { conversation(id: $id) { unreadCount lastSeq } }`, { id: groupId }, dov.token);
    expect(conv.data).toEqual({ conversation: { unreadCount: 0, lastSeq: 1 } });
  });

  it("computes readCount/deliveredCount and per-member receipts from watermarks, and keeps read_by", async () => {
    const msg = (await api.gql<{ sendGroupMessage: { id: string; seq: number } }>(SEND, { g: groupId, c: "receipts?" }, ada.token)).data!.sendGroupMessage;
    await api.gql(`mutation($c: ID!, $s: Int!) { markRead(conversationId: $c, upToSeq: $s) { readSeq } }`, { c: groupId, s: msg.seq }, ben.token);
    await api.gql(`mutation($c: ID!, $s: Int!) { markDelivered(conversationId: $c, upToSeq: $s) { readSeq } }`, { c: groupId, s: msg.seq }, cat.token);
    const Q = `query($c: ID!) { messages(conversationId: $c, last: 1) { edges { node { ... on GroupMessage { readCount deliveredCount readBy { edges { node { username } } } receipts { totalCount edges { node { status user { username } } } } } } } } }`;
    const view = await api.gql<{ messages: { edges: Array<{ node: Record<string, unknown> }> } }>(Q, { c: groupId }, ada.token);
    const node = view.data!.messages.edges[0].node as {
      readCount: number;
      deliveredCount: number;
      readBy: { edges: Array<{ node: { username: string } }> };
      receipts: { totalCount: number; edges: Array<{ node: { status: string; user: { username: string } } }> };
    };
    expect(node.readCount).toBe(1);
    expect(node.deliveredCount).toBe(2);
    expect(node.readBy.edges.map((e) => e.node.username)).toEqual(["ben_g"]);
    expect(node.receipts.totalCount).toBe(3);
    expect(Object.fromEntries(node.receipts.edges.map((e) => [e.node.user.username, e.node.status]))).toEqual({
      ben_g: "READ",
      cat_g: "DELIVERED",
      dov_g: "PENDING",
    });
    const stored = await api.db.models.GroupMessage.findById(msg.id).lean();
    expect(stored?.read_by.map(String)).toEqual([ben.id]);
  });

  it("lets admins set roles, but not the last admin step down", async () => {
    expect(
      (await api.gql(`mutation($g: ID!, $u: ID!) { setGroupRole(groupId: $g, userId: $u, role: MEMBER) { id } }`, { g: groupId, u: ada.id }, ada.token))
        .errors?.[0].extensions?.code,
    ).toBe("FORBIDDEN");
    const promoted = await api.gql(
      `mutation($g: ID!, $u: ID!) { setGroupRole(groupId: $g, userId: $u, role: ADMIN) { admins { username } } }`,
      { g: groupId, u: cat.id },
      ada.token,
    );
    expect(promoted.data).toMatchObject({ setGroupRole: { admins: [{ username: "ada_g" }, { username: "cat_g" }] } });
    await api.gql(`mutation($g: ID!, $u: ID!) { setGroupRole(groupId: $g, userId: $u, role: MEMBER) { id } }`, { g: groupId, u: cat.id }, ada.token);
  });

  it("promotes the longest-standing member when the last admin leaves", async () => {
    expect((await api.gql(`mutation($g: ID!) { leaveGroup(groupId: $g) }`, { g: groupId }, ada.token)).data).toEqual({ leaveGroup: true });
    const after = await api.gql(GROUP, { id: groupId }, ben.token);
    expect(after.data).toMatchObject({ group: { memberCount: 3, viewerRole: "ADMIN", admins: [{ username: "ben_g" }] } });
    // Having left, ada is an outsider: NOT_FOUND, as for an unknown group.
    expect((await api.gql(SEND, { g: groupId, c: "gone" }, ada.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const removed = await api.gql(
      `mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { memberCount } }`,
      { g: groupId, u: dov.id },
      ben.token,
    );
    expect(removed.data).toEqual({ removeGroupMember: { memberCount: 2 } });
  });

  it("deactivates: readable, nobody can post", async () => {
    const d = await api.gql(`mutation($id: ID!) { deactivateGroup(id: $id) { isActive } }`, { id: groupId }, ben.token);
    expect(d.data).toEqual({ deactivateGroup: { isActive: false } });
    expect((await api.gql(SEND, { g: groupId, c: "anyone?" }, cat.token)).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const hist = await api.gql<{ messages: { edges: unknown[] } }>(
      `query($c: ID!) { messages(conversationId: $c, last: 10) { edges { node { seq } } } }`,
      { c: groupId },
      cat.token,
    );
    expect(hist.data?.messages.edges.length).toBeGreaterThan(0);
  });

  it("caps a group at 1,024 members", async () => {
    const docs = Array.from({ length: 1024 }, (_, i) => ({
      _id: new Types.ObjectId(),
      username: `crowd_g${i}`,
      email: `crowd_g${i}@example.com`,
      password: "x",
      search_keys: [`crowd_g${i}`],
    }));
    await api.db.models.User.insertMany(docs);
    const ids = docs.map((d) => d._id.toHexString());
    expect((await api.gql(CREATE, { i: { name: "too big", memberIds: ids } }, ada.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const full = await api.gql<{ createGroup: { id: string; memberCount: number } }>(CREATE, { i: { name: "full", memberIds: ids.slice(0, 1023) } }, ada.token);
    expect(full.errors, JSON.stringify(full.errors)?.slice(0, 300)).toBeUndefined();
    expect(full.data?.createGroup.memberCount).toBe(1024);
    const more = await api.gql(
      `mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { memberCount } }`,
      { g: full.data!.createGroup.id, u: [ids[1023]] },
      ada.token,
    );
    expect(more.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  }, 60_000);
});
