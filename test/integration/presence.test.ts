/**
 * Presence on one instance over real graphql-ws clients: ONLINE with the first connection,
 * OFFLINE after the grace period once the last one closes (not when a device reconnects in
 * time), setPresence, the presence query and User.presence, and blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { listening, topic } from "../helpers/topics.js";
import { quietPeriod } from "../helpers/wait.js";

/** The grace period of these tests (PRESENCE_GRACE_MS). */
const GRACE_MS = 1500;

type P = {
  user: { username: string };
  status: string;
  lastActive: string;
  customStatus: string | null;
  deviceInfo: { deviceType: string | null; platform: string | null } | null;
};
type Changes = Queued<{ data?: { presenceChanged: P }; errors?: Array<{ extensions?: Record<string, unknown> }> }>;
const CHANGED = `subscription($u: [ID!]) { presenceChanged(userIds: $u) { user { username } status lastActive customStatus deviceInfo { deviceType platform } } }`;

describe("presence (one instance)", () => {
  let api: TestApi;
  let ann: TestUser, ben: TestUser, cy: TestUser, dee: TestUser;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const next = async (sub: Changes): Promise<P> => {
    const r = await sub.next();
    expect(r.errors).toBeUndefined();
    return r.data!.presenceChanged;
  };
  const showPresenceToEveryone = async (u: TestUser) => {
    const res = await api.gql(`mutation { updateSettings(input: { lastSeenVisibility: EVERYONE }) { id } }`, {}, u.token);
    expect(res.errors).toBeUndefined();
  };
  /** presenceChanged of `u`, live once the server listens on `about`'s presence topic (graphql-ws acknowledges no subscribe). */
  const follow = async (u: TestUser, about: TestUser, userIds?: string[]): Promise<Changes> => {
    const c = await ws(u);
    return listening(api, topic("PRESENCE", about.id), () => c.subscribe(CHANGED, userIds ? { u: userIds } : undefined) as Changes);
  };
  const setPresence = (u: TestUser, input: Record<string, unknown>) =>
    api.gql<{ setPresence: P }>(
      `mutation($i: SetPresenceInput!) { setPresence(input: $i) { user { username } status customStatus deviceInfo { deviceType platform } } }`,
      { i: input },
      u.token,
    );

  beforeAll(async () => {
    api = await startTestApi({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    [ann, ben, cy, dee] = await Promise.all(["ann", "ben", "cy_", "dee"].map((n) => registerUser(api, n)));
    // ann and ben are contacts; ann blocked cy; dee is a stranger.
    await api.gql(`mutation($u: ID!) { requestContact(userId: $u) { status } }`, { u: ben.id }, ann.token);
    const accepted = await api.gql(`mutation($u: ID!) { acceptContact(userId: $u) { status } }`, { u: ann.id }, ben.token);
    expect(accepted.errors).toBeUndefined();
    await api.gql(`mutation($u: ID!) { blockUser(userId: $u) { status } }`, { u: cy.id }, ann.token);
    // These tests are about presence itself, followed also by non-contacts: ann and dee show
    // theirs to everyone (the default, contacts only, is tested in privacy.test.ts). A block
    // still hides ann's from cy.
    for (const u of [ann, dee]) await showPresenceToEveryone(u);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("goes ONLINE with the first connection and OFFLINE after the grace once the last one closes", async () => {
    const benSub = await follow(ben, ann);
    const deeSub = await follow(dee, ann, [ann.id]);
    // cy follows ann (who blocked cy, so not listened to for cy) and dee: dee's events prove cy's stream is live.
    const cySub = await follow(cy, dee, [ann.id, dee.id]);
    const seenBefore = (await api.db.models.User.findById(ann.id).lean())!.last_seen;

    const phone = await ws(ann);
    expect(await next(benSub)).toMatchObject({ user: { username: "ann" }, status: "ONLINE" });
    expect(await next(deeSub)).toMatchObject({ user: { username: "ann" }, status: "ONLINE" });
    const laptop = await ws(ann);
    await phone.close();
    await laptop.close();
    const offline = await next(benSub);
    // No event for the second connection or the first closing: the next one is OFFLINE.
    expect(offline).toMatchObject({ user: { username: "ann" }, status: "OFFLINE" });
    expect(await next(deeSub)).toMatchObject({ status: "OFFLINE" });
    const stored = await api.db.models.Presence.findOne({ user_id: ann.id }).lean();
    expect(stored).toMatchObject({ status: "offline" });
    const seenAfter = (await api.db.models.User.findById(ann.id).lean())!.last_seen;
    expect(seenAfter.getTime()).toBeGreaterThan(seenBefore.getTime());

    // dee's presence reaches cy; ann's never did.
    await setPresence(dee, { status: "BUSY" });
    const first = await next(cySub);
    expect(first).toMatchObject({ user: { username: "dee" }, status: "BUSY" });
  });

  it("does not flicker OFFLINE when a device reconnects within the grace period", async () => {
    const benSub = await follow(ben, ann);
    const a = await ws(ann);
    expect(await next(benSub)).toMatchObject({ status: "ONLINE" });
    await a.close();
    const b = await ws(ann);
    // Past the grace period, a change of ann's own is the next event: nothing came in between.
    await quietPeriod(GRACE_MS + 500, "an OFFLINE would come from the grace timer, which no event or query shows before it fires");
    expect((await setPresence(ann, { status: "AWAY" })).errors).toBeUndefined();
    expect(await next(benSub)).toMatchObject({ status: "AWAY" });
    await b.close();
    expect(await next(benSub)).toMatchObject({ status: "OFFLINE" });
  });

  it("sets AWAY/BUSY, a custom status and device info; validates and clears them", async () => {
    const benSub = await follow(ben, ann);
    const set = await setPresence(ann, { status: "BUSY", customStatus: "  In a meeting ", deviceInfo: { deviceType: "phone", platform: "ios" } });
    expect(set.data?.setPresence).toEqual({
      user: { username: "ann" },
      status: "BUSY",
      customStatus: "In a meeting",
      deviceInfo: { deviceType: "phone", platform: "ios" },
    });
    expect(await next(benSub)).toMatchObject({ status: "BUSY", customStatus: "In a meeting", deviceInfo: { deviceType: "phone", platform: "ios" } });
    const tooLong = await setPresence(ann, { customStatus: "x".repeat(141) });
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "customStatus" }] });
    const badDevice = await setPresence(ann, { deviceInfo: { platform: "p".repeat(65) } });
    expect(badDevice.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await api.db.models.Presence.findOne({ user_id: ann.id }).lean())?.custom_status).toBe("In a meeting");
    // Without a status the status stays; null clears.
    const cleared = await setPresence(ann, { customStatus: null, deviceInfo: null });
    expect(cleared.data?.setPresence).toMatchObject({ status: "BUSY", customStatus: null, deviceInfo: null });
    const stored = await api.db.models.Presence.findOne({ user_id: ann.id }).lean();
    expect(stored).not.toHaveProperty("custom_status");
    expect(stored).not.toHaveProperty("device_info");
    const bad = await api.gql(`mutation { setPresence(input: { status: ASLEEP }) { status } }`, {}, ann.token);
    expect(bad.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("answers presence queries and User.presence, never to users the person blocked", async () => {
    const q = (u: TestUser, ids: string[]) =>
      api.gql<{ presence: Array<{ user: { username: string }; status: string }> }>(
        `query($u: [ID!]!) { presence(userIds: $u) { user { username } status } }`,
        { u: ids },
        u.token,
      );
    const forBen = await q(ben, [ann.id, dee.id, ann.id]);
    expect(forBen.data?.presence.map((p) => p.user.username).sort()).toEqual(["ann", "dee"]);
    expect(forBen.data?.presence.find((p) => p.user.username === "ann")?.status).toBe("BUSY");
    expect((await q(cy, [ann.id, dee.id])).data?.presence.map((p) => p.user.username)).toEqual(["dee"]);
    expect((await q(ben, ["nope"])).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const many = Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(24, "0"));
    expect((await q(ben, many)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "userIds" }] });
    // A user who never connected is OFFLINE since their last activity.
    const fresh = await registerUser(api, "eve");
    await showPresenceToEveryone(fresh);
    expect((await q(ben, [fresh.id])).data?.presence).toEqual([{ user: { username: "eve" }, status: "OFFLINE" }]);
    // A first presence set without a status is ONLINE.
    const first = await setPresence(fresh, { customStatus: "new here" });
    expect(first.data?.setPresence).toMatchObject({ status: "ONLINE", customStatus: "new here" });
    expect(await api.db.models.Presence.findOne({ user_id: fresh.id }).lean()).toMatchObject({ status: "online", custom_status: "new here" });

    const field = (u: TestUser) =>
      api.gql<{ user: { presence: { status: string } | null } }>(`query($id: ID!) { user(id: $id) { presence { status } } }`, { id: ann.id }, u.token);
    expect((await field(ben)).data?.user.presence).toEqual({ status: "BUSY" });
    expect((await field(cy)).data?.user.presence).toBeNull();
    // ann's change, published first, never reaches cy; dee's, published after it, does.
    const cySub = await follow(cy, dee, [ann.id, dee.id]);
    await setPresence(ann, { status: "ONLINE" });
    await setPresence(dee, { status: "AWAY" });
    expect(await next(cySub)).toMatchObject({ user: { username: "dee" }, status: "AWAY" });
  });
});
