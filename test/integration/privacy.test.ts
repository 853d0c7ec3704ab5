/**
 * Privacy settings over real HTTP and graphql-ws: who sees a user's phone number, last seen and
 * presence, and profile picture (EVERYONE / CONTACTS, the default / NOBODY), wherever a user
 * appears (user, node, group members, message senders, live messages, presence queries and
 * presenceChanged); batched reads; and outsiders get NOT_FOUND for groups and conversations
 * exactly as for ids that do not exist.
 */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { MediaType } from "../../src/modules/media/media.entity.js";
import { listening, topic, unlistened } from "../helpers/topics.js";

const PRIVATE = `phoneNumber lastSeen presence { status } profilePicture { id }`;
const USER = `query($id: ID!) { user(id: $id) { username ${PRIVATE} } }`;
type Private = { phoneNumber: string | null; lastSeen: string | null; presence: { status: string } | null; profilePicture: { id: string } | null };

describe("privacy settings", () => {
  let api: TestApi;
  let pia: TestUser, con: TestUser, str: TestUser, blk: TestUser;
  let pictureId = "";
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const settings = (u: TestUser, input: Record<string, unknown>) =>
    api.gql<{ updateSettings: { settings: Record<string, string> } }>(
      `mutation($i: UpdateSettingsInput!) { updateSettings(input: $i) { settings { phoneNumberVisibility lastSeenVisibility profilePictureVisibility groupAddPolicy } } }`,
      { i: input },
      u.token,
    );
  const seenBy = async (viewer: TestUser, owner: TestUser = pia): Promise<Private> => {
    const res = await api.gql<{ user: Private }>(USER, { id: owner.id }, viewer.token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data!.user;
  };
  const befriend = async (a: TestUser, b: TestUser) => {
    await api.gql(`mutation($u: ID!) { requestContact(userId: $u) { status } }`, { u: b.id }, a.token);
    const ok = await api.gql(`mutation($u: ID!) { acceptContact(userId: $u) { status } }`, { u: a.id }, b.token);
    expect(ok.errors).toBeUndefined();
  };

  beforeAll(async () => {
    api = await startTestApi();
    pia = await registerUser(api, "pia", { phoneNumber: "+15550000001" });
    [con, str, blk] = await Promise.all(["con", "str", "blk"].map((n) => registerUser(api, n)));
    await befriend(pia, con);
    // blk was a contact, then pia blocked them.
    await befriend(pia, blk);
    await api.gql(`mutation($u: ID!) { blockUser(userId: $u) { status } }`, { u: blk.id }, pia.token);
    const image = await api.db.models.Media.create({
      filename: "pia.png",
      original_filename: "pia.png",
      file_size: 10,
      media_type: MediaType.IMAGE,
      mime_type: "image/png",
      uploader_id: new Types.ObjectId(pia.id),
    });
    pictureId = image._id.toHexString();
    const set = await api.gql(`mutation($p: ID) { updateProfile(input: { profilePictureId: $p }) { id } }`, { p: pictureId }, pia.token);
    expect(set.errors).toBeUndefined();
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("starts with CONTACTS for phone, last seen and picture, and EVERYONE for group additions", async () => {
    const me = await api.gql<{ me: { settings: Record<string, unknown> } }>(
      `{ me { settings { notificationsEnabled phoneNumberVisibility lastSeenVisibility profilePictureVisibility groupAddPolicy } } }`,
      {},
      str.token,
    );
    expect(me.data?.me.settings).toEqual({
      notificationsEnabled: true,
      phoneNumberVisibility: "CONTACTS",
      lastSeenVisibility: "CONTACTS",
      profilePictureVisibility: "CONTACTS",
      groupAddPolicy: "EVERYONE",
    });
    // Settings also come as the stored values, lower case, on the seed's settings object.
    const stored = await api.db.models.User.findById(str.id).lean();
    expect(stored?.settings).toMatchObject({ phone_number_visibility: "contacts", group_add_policy: "everyone" });
    // A bad value changes nothing.
    expect((await settings(str, { lastSeenVisibility: "FRIENDS" })).errors?.[0].extensions?.code).toBeDefined();
  });

  it("by default shows phone, last seen, presence and picture to contacts and the user, not to strangers or blocked users", async () => {
    const own = await seenBy(pia);
    expect(own).toMatchObject({ phoneNumber: "+15550000001", profilePicture: { id: pictureId }, presence: { status: "OFFLINE" } });
    expect(own.lastSeen).not.toBeNull();
    const contact = await seenBy(con);
    expect(contact).toMatchObject({ phoneNumber: "+15550000001", profilePicture: { id: pictureId }, presence: { status: "OFFLINE" } });
    expect(contact.lastSeen).not.toBeNull();
    expect(await seenBy(str)).toEqual({ username: "pia", phoneNumber: null, lastSeen: null, presence: null, profilePicture: null });
    expect(await seenBy(blk)).toEqual({ username: "pia", phoneNumber: null, lastSeen: null, presence: null, profilePicture: null });
  });

  it("a hidden profile picture cannot be read by its id either (media, node)", async () => {
    const q = `query($id: ID!) { media(id: $id) { id } node(id: $id) { id } }`;
    expect((await api.gql(q, { id: pictureId }, con.token)).data).toEqual({ media: { id: pictureId }, node: { id: pictureId } });
    for (const outsider of [str, blk]) {
      const res = await api.gql(q, { id: pictureId }, outsider.token);
      expect(res.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    }
  });

  it("NOBODY hides a field even from contacts; EVERYONE shows it to strangers but not to blocked users", async () => {
    const changed = await settings(pia, { phoneNumberVisibility: "NOBODY", profilePictureVisibility: "EVERYONE", lastSeenVisibility: "EVERYONE" });
    expect(changed.data?.updateSettings.settings).toEqual({
      phoneNumberVisibility: "NOBODY",
      lastSeenVisibility: "EVERYONE",
      profilePictureVisibility: "EVERYONE",
      groupAddPolicy: "EVERYONE",
    });
    expect(await seenBy(con)).toMatchObject({ phoneNumber: null, profilePicture: { id: pictureId }, presence: { status: "OFFLINE" } });
    const stranger = await seenBy(str);
    expect(stranger).toMatchObject({ phoneNumber: null, profilePicture: { id: pictureId }, presence: { status: "OFFLINE" } });
    expect(stranger.lastSeen).not.toBeNull();
    expect(await seenBy(blk)).toEqual({ username: "pia", phoneNumber: null, lastSeen: null, presence: null, profilePicture: null });
    // The user always sees their own.
    expect((await seenBy(pia)).phoneNumber).toBe("+15550000001");
    await settings(pia, { phoneNumberVisibility: "CONTACTS", profilePictureVisibility: "CONTACTS", lastSeenVisibility: "CONTACTS" });
  });

  it("applies everywhere a user appears: node, search, group members, message senders and live messages", async () => {
    const group = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "Mixed", memberIds: [con.id, str.id] } },
      pia.token,
    );
    expect(group.errors).toBeUndefined();
    const groupId = group.data!.createGroup.id;
    // Both select only fields that look public by name elsewhere (no lastSeen/presence), so only
    // phoneNumber and profilePicture themselves make the document viewer-specific.
    const LIVE = `subscription($c: ID) { messageAdded(conversationId: $c) { sender { phoneNumber profilePicture { id } } } }`;
    // graphql-ws acknowledges no subscribe: both are live once the server listens on the group's topic twice.
    const [strWs, conWs] = [await ws(str), await ws(con)];
    const [live, liveContact] = await listening(api, [topic("CONVERSATION", groupId), topic("CONVERSATION", groupId)], () => [
      strWs.subscribe<{ messageAdded: { sender: Private } }>(LIVE, { c: groupId }),
      // The same document for both: a result computed once per event must not be shared between them.
      conWs.subscribe<{ messageAdded: { sender: Private } }>(LIVE, { c: groupId }),
    ]);
    const sent = await api.gql(`mutation($g: ID!) { sendGroupMessage(input: { groupId: $g, content: "hello" }) { id } }`, { g: groupId }, pia.token);
    expect(sent.errors).toBeUndefined();

    const hidden = { phoneNumber: null, lastSeen: null, presence: null, profilePicture: null };
    const q = `query($id: ID!, $g: ID!) {
      node(id: $id) { ... on User { ${PRIVATE} } }
      searchUsers(query: "pia") { edges { node { ${PRIVATE} } } }
      group(id: $g) { members { edges { node { user { username ${PRIVATE} } } } } creator { ${PRIVATE} } }
      messages(conversationId: $g, last: 1) { edges { node { sender { ${PRIVATE} } } } }
    }`;
    type R = {
      node: Private;
      searchUsers: { edges: Array<{ node: Private }> };
      group: { members: { edges: Array<{ node: { user: Private & { username: string } } }> }; creator: Private };
      messages: { edges: Array<{ node: { sender: Private } }> };
    };
    const res = await api.gql<R>(q, { id: pia.id, g: groupId }, str.token);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    expect(res.data!.node).toEqual(hidden);
    expect(res.data!.searchUsers.edges[0].node).toEqual(hidden);
    expect(res.data!.group.creator).toEqual(hidden);
    expect(res.data!.group.members.edges.find((e) => e.node.user.username === "pia")?.node.user).toMatchObject(hidden);
    expect(res.data!.messages.edges[0].node.sender).toEqual(hidden);
    expect((await live.next()).data?.messageAdded.sender).toEqual({ phoneNumber: null, profilePicture: null });
    expect((await liveContact.next()).data?.messageAdded.sender).toEqual({ phoneNumber: "+15550000001", profilePicture: { id: pictureId } });

    // Contacts see it in the same places.
    const asContact = await api.gql<R>(q, { id: pia.id, g: groupId }, con.token);
    expect(asContact.data!.node.phoneNumber).toBe("+15550000001");
    expect(asContact.data!.messages.edges[0].node.sender.profilePicture).toEqual({ id: pictureId });
  });

  it("decides for many users with one batched read: as many commands for 8 members as for 2", async () => {
    const others = await Promise.all(Array.from({ length: 8 }, (_, i) => registerUser(api, `crowd${i}`, { phoneNumber: `+1555100000${i}` })));
    for (const o of others.slice(0, 3)) await befriend(o, str);
    const small = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "S", memberIds: others.slice(0, 1).map((o) => o.id) } },
      str.token,
    );
    const big = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "B", memberIds: others.slice(1).map((o) => o.id) } },
      str.token,
    );
    const q = (id: string) =>
      api.gql<{ group: { members: { edges: Array<{ node: { user: { username: string; phoneNumber: string | null; lastSeen: string | null } } }> } } }>(
        `query($id: ID!) { group(id: $id) { members { edges { node { user { username phoneNumber lastSeen } } } } } }`,
        { id },
        str.token,
      );
    let two: Awaited<ReturnType<typeof q>> | undefined;
    let eight: Awaited<ReturnType<typeof q>> | undefined;
    const c2 = await countCommands(api, async () => {
      two = await q(small.data!.createGroup.id);
    });
    const c8 = await countCommands(api, async () => {
      eight = await q(big.data!.createGroup.id);
    });
    expect(c8.names).toEqual(c2.names);
    // Contacts of str (crowd0..2) show their numbers; the others do not.
    const phones = Object.fromEntries(eight!.data!.group.members.edges.map((e) => [e.node.user.username, e.node.user.phoneNumber]));
    expect(phones).toMatchObject({ crowd1: "+15551000001", crowd2: "+15551000002", crowd3: null, crowd7: null });
    expect(two!.data!.group.members.edges.find((e) => e.node.user.username === "crowd0")?.node.user.phoneNumber).toBe("+15551000000");
  });
});

describe("presence privacy", () => {
  let api: TestApi;
  let pia: TestUser, con: TestUser, str: TestUser, pub: TestUser;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const CHANGED = `subscription($u: [ID!]) { presenceChanged(userIds: $u) { user { username } status customStatus } }`;
  type Ev = { presenceChanged: { user: { username: string }; status: string; customStatus: string | null } };
  const setPresence = (u: TestUser, customStatus: string) =>
    api.gql(`mutation($s: String) { setPresence(input: { customStatus: $s }) { status } }`, { s: customStatus }, u.token);
  const settings = (u: TestUser, input: Record<string, unknown>) =>
    api.gql(`mutation($i: UpdateSettingsInput!) { updateSettings(input: $i) { id } }`, { i: input }, u.token);

  beforeAll(async () => {
    api = await startTestApi();
    [pia, con, str, pub] = await Promise.all(["pia", "con", "str", "pub"].map((n) => registerUser(api, n)));
    await api.gql(`mutation($u: ID!) { requestContact(userId: $u) { status } }`, { u: con.id }, pia.token);
    await api.gql(`mutation($u: ID!) { acceptContact(userId: $u) { status } }`, { u: pia.id }, con.token);
    // pub shows their presence to everyone: their events are the sentinels that prove a stream is live.
    await settings(pub, { lastSeenVisibility: "EVERYONE" });
    await setPresence(pia, "busy day");
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("presence(userIds) reveals nothing about non-contacts by default", async () => {
    const q = `query($u: [ID!]!) { presence(userIds: $u) { user { username } customStatus } }`;
    const asStranger = await api.gql<{ presence: Array<{ user: { username: string } }> }>(q, { u: [pia.id, pub.id] }, str.token);
    expect(asStranger.data?.presence.map((p) => p.user.username)).toEqual(["pub"]);
    const asContact = await api.gql<{ presence: Array<{ user: { username: string }; customStatus: string | null }> }>(q, { u: [pia.id] }, con.token);
    expect(asContact.data?.presence).toEqual([{ user: { username: "pia" }, customStatus: "busy day" }]);
    await settings(pia, { lastSeenVisibility: "NOBODY" });
    expect((await api.gql<{ presence: unknown[] }>(q, { u: [pia.id] }, con.token)).data?.presence).toEqual([]);
    expect((await api.gql<{ presence: unknown[] }>(q, { u: [pia.id] }, pia.token)).data?.presence).toHaveLength(1);
    await settings(pia, { lastSeenVisibility: "CONTACTS" });
  });

  it("presenceChanged of a non-contact yields nothing; a contact gets it; settings changes apply to the next event", async () => {
    const both = [topic("PRESENCE", pia.id), topic("PRESENCE", pub.id)];
    const strWs = await ws(str);
    const stranger = await listening(api, both, () => strWs.subscribe<Ev>(CHANGED, { u: [pia.id, pub.id] }));
    const conWs = await ws(con);
    const contact = await listening(api, both, () => conWs.subscribe<Ev>(CHANGED, { u: [pia.id, pub.id] }));
    await setPresence(pia, "one");
    await setPresence(pub, "sentinel 1");
    // The stranger's first event is pub's: pia's, published before it, never came.
    expect((await stranger.next()).data?.presenceChanged).toMatchObject({ user: { username: "pub" }, customStatus: "sentinel 1" });
    expect((await contact.next()).data?.presenceChanged).toMatchObject({ user: { username: "pia" }, customStatus: "one" });
    expect((await contact.next()).data?.presenceChanged).toMatchObject({ user: { username: "pub" } });

    // NOBODY: even the contact gets nothing.
    await settings(pia, { lastSeenVisibility: "NOBODY" });
    await setPresence(pia, "two");
    await setPresence(pub, "sentinel 2");
    expect((await contact.next()).data?.presenceChanged).toMatchObject({ user: { username: "pub" }, customStatus: "sentinel 2" });
    expect((await stranger.next()).data?.presenceChanged).toMatchObject({ user: { username: "pub" }, customStatus: "sentinel 2" });

    // EVERYONE: the same subscriptions start receiving, without subscribing again.
    await settings(pia, { lastSeenVisibility: "EVERYONE" });
    await setPresence(pia, "three");
    expect((await stranger.next()).data?.presenceChanged).toMatchObject({ user: { username: "pia" }, customStatus: "three" });
    expect((await contact.next()).data?.presenceChanged).toMatchObject({ user: { username: "pia" }, customStatus: "three" });
    expect(stranger.pending).toHaveLength(0);
  });

  it("delivers presence events without a database read per subscriber", async () => {
    expect((await settings(pia, { lastSeenVisibility: "CONTACTS" })).errors).toBeUndefined();
    const subs: Array<Queued<{ data?: Ev }>> = [];
    const onPia = topic("PRESENCE", pia.id);
    await listening(api, Array(4).fill(onPia), async () => {
      for (let i = 0; i < 4; i++)
        subs.push((await ws(con)).subscribe<Ev>(`subscription($u: [ID!]) { presenceChanged(userIds: $u) { status customStatus } }`, { u: [pia.id] }));
    });
    const one = await countCommands(api, async () => {
      await setPresence(pia, "fan-out");
      for (const s of subs) expect((await s.next()).data?.presenceChanged.customStatus).toBe("fan-out");
    });
    const subsFew = subs.slice(0, 1);
    await unlistened(api, Array(3).fill(onPia), () => subs.slice(1).forEach((s) => s.stop()));
    const few = await countCommands(api, async () => {
      await setPresence(pia, "fan-out 2");
      for (const s of subsFew) expect((await s.next()).data?.presenceChanged.customStatus).toBe("fan-out 2");
    });
    expect(one.names).toEqual(few.names);
  });
});

describe("outsiders get NOT_FOUND for groups and conversations, as for unknown ids", () => {
  let api: TestApi;
  let amy: TestUser, bob: TestUser, eve: TestUser;
  let groupId = "",
    directId = "";
  const unknown = new Types.ObjectId().toHexString();

  beforeAll(async () => {
    api = await startTestApi();
    [amy, bob, eve] = await Promise.all(["amy", "bob", "eve"].map((n) => registerUser(api, n)));
    const g = await api.gql<{ createGroup: { id: string } }>(`mutation { createGroup(input: { name: "Secret plans", memberIds: [] }) { id } }`, {}, amy.token);
    groupId = g.data!.createGroup.id;
    const m = await api.gql<{ sendMessage: { conversationId: string } }>(
      `mutation($r: ID!) { sendMessage(input: { recipientId: $r, content: "hi" }) { conversationId } }`,
      { r: bob.id },
      amy.token,
    );
    directId = m.data!.sendMessage.conversationId;
  });
  afterAll(async () => {
    await api?.stop();
  });

  /** The error an outsider gets for an existing id equals the one for an id that does not exist. */
  const same = async (query: string, vars: (id: string) => Record<string, unknown>, existing: string) => {
    const real = await api.gql(query, vars(existing), eve.token);
    const none = await api.gql(query, vars(unknown), eve.token);
    expect(real.data ?? null, JSON.stringify(real.data)).toEqual(none.data ?? null);
    expect(JSON.stringify(real.data ?? null)).not.toContain("Secret plans");
    expect(real.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect(real.errors?.[0].message).toBe(none.errors?.[0].message);
    expect(real.errors?.[0].extensions?.code).toBe(none.errors?.[0].extensions?.code);
  };

  it("group(id) for a non-member: NOT_FOUND, no name, no member list", async () => {
    await same(`query($id: ID!) { group(id: $id) { name members { totalCount } } }`, (id) => ({ id }), groupId);
  });

  it("every query and mutation on a group or conversation id answers an outsider like an unknown id", async () => {
    for (const id of [groupId, directId]) {
      await same(`query($id: ID!) { conversation(id: $id) { id } }`, (c) => ({ id: c }), id);
      await same(`query($c: ID!) { messages(conversationId: $c, last: 5) { edges { node { id } } } }`, (c) => ({ c }), id);
      await same(`mutation($c: ID!) { markRead(conversationId: $c, upToSeq: 1) { readSeq } }`, (c) => ({ c }), id);
      await same(`mutation($c: ID!) { markDelivered(conversationId: $c, upToSeq: 1) { readSeq } }`, (c) => ({ c }), id);
    }
    await same(`mutation($g: ID!) { sendGroupMessage(input: { groupId: $g, content: "let me in" }) { id } }`, (g) => ({ g }), groupId);
    await same(`mutation($g: ID!) { leaveGroup(groupId: $g) }`, (g) => ({ g }), groupId);
    await same(`mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`, (g) => ({ g, u: [eve.id] }), groupId);
    await same(`mutation($g: ID!) { updateGroup(id: $g, input: { name: "mine" }) { id } }`, (g) => ({ g }), groupId);
  });

  it("live: subscribing to someone else's conversation is NOT_FOUND, as for an unknown one", async () => {
    const c = await connectWs(wsUrl(api.url), eve.token);
    try {
      for (const id of [groupId, directId, unknown]) {
        const sub = c.subscribe(`subscription($c: ID) { messageAdded(conversationId: $c) { id } }`, { c: id });
        const first = await sub.next();
        expect(first.data ?? null).toBeNull();
        expect(first.errors?.[0].extensions?.code).toBe("NOT_FOUND");
        expect(first.errors?.[0].message).toBe("Conversation not found");
      }
    } finally {
      await c.close();
    }
  });
});
