/**
 * Per-user token buckets on the write paths others feel (issue 9 §4), over real HTTP on two
 * instances sharing Redis: past a limit the answer is RATE_LIMITED with retryAfterSeconds and
 * nothing is stored or published. Registration is limited per client address.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";

const hasRedis = await redisAvailable();
const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }`;
type Errors = Array<{ extensions?: Record<string, unknown> }> | undefined;

function expectLimited(errors: Errors): void {
  expect(errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
  expect(errors![0].extensions!.retryAfterSeconds).toBeGreaterThan(0);
}

describe.skipIf(!hasRedis)("per-user abuse limits shared by two instances", () => {
  let a: TestApi;
  let b: TestApi;
  const env = {
    REDIS_URL,
    MESSAGE_RATE_LIMIT: "5/600",
    STRANGER_MESSAGE_RATE_LIMIT: "2/600",
    TYPING_RATE_LIMIT: "3/600",
    CALL_SIGNAL_RATE_LIMIT: "3/600",
    CONTACT_REQUEST_RATE_LIMIT: "2/600",
    GROUP_RATE_LIMIT: "2/600",
    MEMBER_ACTION_RATE_LIMIT: "4/600",
    REGISTER_RATE_LIMIT: "1000/600",
  };
  const pick = (i: number): TestApi => (i % 2 ? b : a);

  beforeAll(async () => {
    ({ a, b } = await startTwoTestApis(env));
  });
  afterAll(async () => {
    await stopTestApis(b, a);
  });

  async function befriend(x: TestUser, y: TestUser): Promise<void> {
    expect((await a.gql(`mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: y.id }, x.token)).errors).toBeUndefined();
    expect((await b.gql(`mutation($u: ID!) { acceptContact(userId: $u) { id } }`, { u: x.id }, y.token)).errors).toBeUndefined();
  }

  it("gives strangers a tight budget per conversation, contacts the per-user one; a refused message is neither stored nor numbered", async () => {
    const [sam, tia, una] = await Promise.all(["sam_b", "tia_b", "una_b"].map((n) => registerUser(a, n)));
    await befriend(una, sam);
    for (let i = 0; i < 2; i++) expect((await pick(i).gql(SEND, { i: { recipientId: tia.id, content: `hi ${i}` } }, sam.token)).errors).toBeUndefined();
    const refused = await a.gql(SEND, { i: { recipientId: tia.id, content: "hi again" } }, sam.token);
    expectLimited(refused.errors);
    expect(await a.db.models.DirectMessage.countDocuments({ recipient_id: tia.id })).toBe(2);
    const conv = await a.db.models.Conversation.findOne({ "members.user_id": tia.id });
    expect(conv!.last_seq).toBe(2);
    // Una accepted Sam: the per-user bucket (5, two already spent) is what limits him there.
    for (let i = 0; i < 3; i++) expect((await pick(i).gql(SEND, { i: { recipientId: una.id, content: `yo ${i}` } }, sam.token)).errors).toBeUndefined();
    expectLimited((await b.gql(SEND, { i: { recipientId: una.id, content: "one too many" } }, sam.token)).errors);
    expect(await a.db.models.DirectMessage.countDocuments({ sender_id: sam.id })).toBe(5);
  });

  it("limits typing notices, contact requests, group creation and member adds per user", async () => {
    const [vic, wil, xan, yul] = await Promise.all(["vic_b", "wil_b", "xan_b", "yul_b"].map((n) => registerUser(a, n)));
    await befriend(wil, vic);
    const sent = await a.gql<{ sendMessage: { seq: number } }>(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { conversationId } }`,
      { i: { recipientId: wil.id, content: "hey" } },
      vic.token,
    );
    const conversationId = (sent.data as unknown as { sendMessage: { conversationId: string } }).sendMessage.conversationId;
    const typing = (api: TestApi) => api.gql(`mutation($c: ID!) { setTyping(conversationId: $c, isTyping: true) }`, { c: conversationId }, vic.token);
    for (let i = 0; i < 3; i++) expect((await typing(pick(i))).errors).toBeUndefined();
    expectLimited((await typing(b)).errors);

    const request = (api: TestApi, to: TestUser) => api.gql(`mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: to.id }, vic.token);
    expect((await request(a, xan)).errors).toBeUndefined();
    expect((await request(b, yul)).errors).toBeUndefined();
    const third = await registerUser(a, "zed_b");
    expectLimited((await request(a, third)).errors);
    expect(await a.db.models.Contact.countDocuments({ user_id: vic.id, contact_id: third.id })).toBe(0);

    const create = (api: TestApi, name: string) =>
      api.gql<{ createGroup: { id: string } }>(
        `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
        { i: { name, memberIds: [wil.id] } },
        vic.token,
      );
    const group = await create(a, "first");
    expect(group.errors).toBeUndefined();
    expect(
      (
        await b.gql(
          `mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }`,
          { g: group.data!.createGroup.id, u: [xan.id] },
          vic.token,
        )
      ).errors,
    ).toBeUndefined();
    expectLimited((await create(b, "second")).errors);
    expect(await a.db.models.Group.countDocuments({ creator_id: vic.id })).toBe(1);
  });

  it("limits edits, hides, pins and the member's own conversation state with one per-user budget; a refused one changes nothing", async () => {
    const [zed, amo] = await Promise.all(["kip_m", "lou_m"].map((n) => registerUser(a, n)));
    await befriend(amo, zed);
    const sent = await a.gql(
      `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id conversationId } }`,
      { i: { recipientId: amo.id, content: "v0" } },
      zed.token,
    );
    const { id, conversationId } = (sent.data as { sendMessage: { id: string; conversationId: string } }).sendMessage;
    const actions = [
      (api: TestApi) => api.gql(`mutation($m: ID!) { editMessage(id: $m, content: "v1") { id } }`, { m: id }, zed.token),
      (api: TestApi) => api.gql(`mutation($m: ID!) { hideMessage(messageId: $m) }`, { m: id }, zed.token),
      (api: TestApi) => api.gql(`mutation($m: ID!) { pinMessage(messageId: $m) { id } }`, { m: id }, zed.token),
      (api: TestApi) => api.gql(`mutation($c: ID!) { archiveConversation(conversationId: $c) { id } }`, { c: conversationId }, zed.token),
    ];
    for (let i = 0; i < actions.length; i++) expect((await actions[i](pick(i))).errors).toBeUndefined();
    // The budget (4) is spent across both instances: the next write of any of these kinds is refused.
    expectLimited((await b.gql(`mutation($m: ID!) { editMessage(id: $m, content: "v2") { id } }`, { m: id }, zed.token)).errors);
    expectLimited((await a.gql(`mutation($c: ID!) { unarchiveConversation(conversationId: $c) { id } }`, { c: conversationId }, zed.token)).errors);
    const stored = await a.db.models.DirectMessage.findById(id);
    expect(stored!.content).toBe("v1");
    const conv = await a.db.models.Conversation.findById(conversationId);
    expect(conv!.members.find((m) => m.user_id.toHexString() === zed.id)?.archived).toBe(true);
    // The other member's budget is their own.
    expect((await a.gql(`mutation($c: ID!) { archiveConversation(conversationId: $c) { id } }`, { c: conversationId }, amo.token)).errors).toBeUndefined();
  });

  it("limits call signals per user", async () => {
    const [ada, bob] = await Promise.all(["ada_b", "bob_b"].map((n) => registerUser(a, n)));
    const call = await a.gql<{ startCall: { id: string } }>(
      `mutation($u: ID!) { startCall(input: { recipientId: $u, callType: VOICE }) { id } }`,
      { u: bob.id },
      ada.token,
    );
    expect(call.errors).toBeUndefined();
    const signal = (api: TestApi) =>
      api.gql(
        `mutation($c: ID!, $t: ID!) { sendCallSignal(callId: $c, toUserId: $t, signal: { candidate: "x" }) }`,
        { c: call.data!.startCall.id, t: bob.id },
        ada.token,
      );
    for (let i = 0; i < 3; i++) expect((await signal(pick(i))).errors).toBeUndefined();
    expectLimited((await signal(a)).errors);
  });
});

describe.skipIf(!hasRedis)("registration per client address", () => {
  let a: TestApi;
  let b: TestApi;

  beforeAll(async () => {
    const env = { REDIS_URL, TRUST_PROXY: "loopback", REGISTER_RATE_LIMIT: "2/3600" };
    ({ a, b } = await startTwoTestApis(env));
  });
  afterAll(async () => {
    await stopTestApis(b, a);
  });

  const register = async (api: TestApi, username: string, ip: string) => {
    const res = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({
        query: `mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`,
        variables: { i: { username, email: `${username}@example.com`, password: "password-123" } },
      }),
    });
    return (await res.json()) as { errors?: Errors };
  };

  it("refuses a third account from one address, on either instance, and creates nothing", async () => {
    expect((await register(a, "reg_1", "10.2.0.1")).errors).toBeUndefined();
    expect((await register(b, "reg_2", "10.2.0.1")).errors).toBeUndefined();
    expectLimited((await register(a, "reg_3", "10.2.0.1")).errors);
    expect(await a.db.models.User.countDocuments({ username: "reg_3" })).toBe(0);
    expect((await register(b, "reg_4", "10.2.0.2")).errors).toBeUndefined();
  });
});
