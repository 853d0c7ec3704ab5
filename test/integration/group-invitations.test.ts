/**
 * Who may add me to groups: with groupAddPolicy CONTACTS a non-contact's addition (createGroup
 * or addGroupMembers) becomes an invitation, listed by groupInvitations and answered with
 * acceptGroupInvitation / declineGroupInvitation; accepting re-checks the group and the
 * inviter. Over real HTTP; invitations are stored in `group_invitations` with their indexes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";

const CREATE = `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id memberCount invitedUsers { username } members { edges { node { user { username } } } } } }`;
const ADD = `mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { memberCount invitedUsers { username } } }`;
const INVITES = `{ groupInvitations { totalCount edges { node { id groupId groupName groupMemberCount inviter { username } createdAt expiresAt } } } }`;
const ACCEPT = `mutation($id: ID!) { acceptGroupInvitation(id: $id) { id memberCount viewerRole } }`;
type Invite = { id: string; groupId: string; groupName: string | null; groupMemberCount: number; inviter: { username: string }; expiresAt: string };

describe("group invitations", () => {
  let api: TestApi;
  let cleo: TestUser, friend: TestUser, stranger: TestUser, open: TestUser;

  const invitesOf = async (u: TestUser): Promise<Invite[]> => {
    const res = await api.gql<{ groupInvitations: { edges: Array<{ node: Invite }> } }>(INVITES, {}, u.token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.groupInvitations.edges.map((e) => e.node);
  };
  const create = async (by: TestUser, name: string, members: TestUser[]) => {
    const res = await api.gql<{
      createGroup: {
        id: string;
        memberCount: number;
        invitedUsers: Array<{ username: string }>;
        members: { edges: Array<{ node: { user: { username: string } } }> };
      };
    }>(CREATE, { i: { name, memberIds: members.map((m) => m.id) } }, by.token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.createGroup;
  };

  beforeAll(async () => {
    api = await startTestApi();
    [cleo, friend, stranger, open] = await Promise.all(["cleo", "friend", "stranger", "open"].map((n) => registerUser(api, n)));
    await api.gql(`mutation($u: ID!) { requestContact(userId: $u) { status } }`, { u: friend.id }, cleo.token);
    await api.gql(`mutation($u: ID!) { acceptContact(userId: $u) { status } }`, { u: cleo.id }, friend.token);
    const set = await api.gql<{ updateSettings: { settings: { groupAddPolicy: string } } }>(
      `mutation { updateSettings(input: { groupAddPolicy: CONTACTS }) { settings { groupAddPolicy } } }`,
      {},
      cleo.token,
    );
    expect(set.data?.updateSettings.settings.groupAddPolicy).toBe("CONTACTS");
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("a stranger's createGroup invites a CONTACTS user instead of adding them; accepting makes them a member", async () => {
    const group = await create(stranger, "Strangers club", [cleo, open]);
    // open (default EVERYONE) is added; cleo is only invited.
    expect(group.memberCount).toBe(2);
    expect(group.members.edges.map((e) => e.node.user.username).sort()).toEqual(["open", "stranger"]);
    expect(group.invitedUsers).toEqual([{ username: "cleo" }]);
    expect((await api.gql(`query($id: ID!) { group(id: $id) { name } }`, { id: group.id }, cleo.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const convs = await api.gql<{ conversations: { edges: unknown[] } }>(`{ conversations { edges { node { id } } } }`, {}, cleo.token);
    expect(convs.data?.conversations.edges).toEqual([]);
    // Only admins see whom the group invited.
    expect(
      (await api.gql<{ group: { invitedUsers: unknown[] } }>(`query($id: ID!) { group(id: $id) { invitedUsers { username } } }`, { id: group.id }, open.token))
        .data?.group.invitedUsers,
    ).toEqual([]);

    const [invite] = await invitesOf(cleo);
    expect(invite).toMatchObject({ groupId: group.id, groupName: "Strangers club", groupMemberCount: 2, inviter: { username: "stranger" } });
    expect(new Date(invite.expiresAt).getTime()).toBeGreaterThan(Date.now() + 24 * 3600 * 1000);
    const stored = await api.db.models.GroupInvitation.findById(invite.id).lean();
    expect(stored).toMatchObject({ user_id: expect.anything(), inviter_id: expect.anything() });

    // Someone else cannot answer it.
    expect((await api.gql(ACCEPT, { id: invite.id }, open.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const accepted = await api.gql<{ acceptGroupInvitation: { id: string; memberCount: number; viewerRole: string } }>(ACCEPT, { id: invite.id }, cleo.token);
    expect(accepted.errors, JSON.stringify(accepted.errors)).toBeUndefined();
    expect(accepted.data?.acceptGroupInvitation).toEqual({ id: group.id, memberCount: 3, viewerRole: "MEMBER" });
    expect((await api.gql(`query($id: ID!) { group(id: $id) { name } }`, { id: group.id }, cleo.token)).data).toEqual({ group: { name: "Strangers club" } });
    const conv = await api.db.models.Conversation.findById(group.id).lean();
    expect(conv?.members.map((m) => m.user_id.toHexString())).toContain(cleo.id);
    expect(await invitesOf(cleo)).toEqual([]);
    expect(await api.db.models.GroupInvitation.countDocuments({})).toBe(0);
    expect((await api.gql(ACCEPT, { id: invite.id }, cleo.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("a contact adds directly; a stranger's addGroupMembers invites; declining leaves the user out", async () => {
    const mine = await create(friend, "Friends", [cleo]);
    expect(mine).toMatchObject({ memberCount: 2, invitedUsers: [] });

    const theirs = await create(stranger, "Second try", []);
    const added = await api.gql<{ addGroupMembers: { memberCount: number; invitedUsers: Array<{ username: string }> } }>(
      ADD,
      { g: theirs.id, u: [cleo.id] },
      stranger.token,
    );
    expect(added.data?.addGroupMembers).toEqual({ memberCount: 1, invitedUsers: [{ username: "cleo" }] });
    // Adding again renews the one invitation.
    await api.gql(ADD, { g: theirs.id, u: [cleo.id] }, stranger.token);
    const invites = await invitesOf(cleo);
    expect(invites.map((i) => i.groupName)).toEqual(["Second try"]);
    expect((await api.gql(`mutation($id: ID!) { declineGroupInvitation(id: $id) }`, { id: invites[0].id }, cleo.token)).data).toEqual({
      declineGroupInvitation: true,
    });
    expect(await invitesOf(cleo)).toEqual([]);
    expect((await api.gql(`mutation($id: ID!) { declineGroupInvitation(id: $id) }`, { id: invites[0].id }, cleo.token)).errors?.[0].extensions?.code).toBe(
      "NOT_FOUND",
    );
    const group = await api.db.models.Group.findById(theirs.id).lean();
    expect(group?.members.map(String)).toEqual([stranger.id]);
  });

  it("accepting re-checks that the inviter is still an admin and the group still active", async () => {
    // The inviter lost their admin role (they left) before the invitee answered.
    const g1 = await create(stranger, "Left behind", [open]);
    await api.gql(ADD, { g: g1.id, u: [cleo.id] }, stranger.token);
    const [inv1] = await invitesOf(cleo);
    expect((await api.gql(`mutation($g: ID!) { leaveGroup(groupId: $g) }`, { g: g1.id }, stranger.token)).data).toEqual({ leaveGroup: true });
    const refused = await api.gql(ACCEPT, { id: inv1.id }, cleo.token);
    expect(refused.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.db.models.Group.findById(g1.id).lean())?.members.map(String)).not.toContain(cleo.id);
    // A void invitation is cleaned up.
    expect(await invitesOf(cleo)).toEqual([]);

    // The group was deactivated.
    const g2 = await create(stranger, "Closed", [cleo]);
    const [inv2] = await invitesOf(cleo);
    await api.gql(`mutation($id: ID!) { deactivateGroup(id: $id) { id } }`, { id: g2.id }, stranger.token);
    expect((await api.gql(ACCEPT, { id: inv2.id }, cleo.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("expired invitations are not listed and cannot be accepted; a TTL index removes them", async () => {
    const g = await create(stranger, "Too late", [cleo]);
    const [inv] = await invitesOf(cleo);
    await api.db.models.GroupInvitation.updateOne({ _id: inv.id }, { $set: { expires_at: new Date(Date.now() - 1000) } });
    expect(await invitesOf(cleo)).toEqual([]);
    expect((await api.gql(ACCEPT, { id: inv.id }, cleo.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.db.models.Group.findById(g.id).lean())?.members.map(String)).not.toContain(cleo.id);
    const indexes = await api.db.models.GroupInvitation.collection.indexes();
    expect(indexes.find((i) => i.key.expires_at === 1)?.expireAfterSeconds).toBe(0);
    expect(indexes.find((i) => i.key.group_id === 1 && i.key.user_id === 1)?.unique).toBe(true);
    expect(indexes.some((i) => i.key.user_id === 1 && i.key._id === -1)).toBe(true);
  });

  it("rejects a bad invitation id with a clear error and changes nothing", async () => {
    const res = await api.gql(ACCEPT, { id: "nope" }, cleo.token);
    expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });
});
