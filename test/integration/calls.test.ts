/**
 * Calls over real HTTP and graphql-ws: a full direct call between two clients (start, ring,
 * accept, signals both ways, end), the callee's other device told it was answered, missed,
 * rejected and cancelled calls, the ring timeout marked by another instance, group calls,
 * blocks, visibility and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { listening, topic } from "../helpers/topics.js";

const CALL_FIELDS = `id status callType startedAt endedAt duration metadata caller { username } recipient { username } group { name } participants { user { username } joinedAt leftAt }`;
type CallT = {
  id: string;
  status: string;
  callType: string;
  endedAt: string | null;
  duration: number | null;
  metadata: unknown;
  caller: { username: string };
  recipient: { username: string } | null;
  group: { name: string } | null;
  participants: Array<{ user: { username: string }; joinedAt: string | null; leftAt: string | null }>;
};
type Updated = Queued<{ data?: { callUpdated: CallT } }>;

describe("calls", () => {
  let api: TestApi;
  let kim: TestUser, lou: TestUser, max: TestUser, nia: TestUser;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser, target = api) => {
    const c = await connectWs(wsUrl(target.url), u.token);
    clients.push(c);
    return c;
  };
  const op = async (u: TestUser, mutation: string, callId: string) => {
    return api.gql<Record<string, CallT>>(`mutation($id: ID!) { ${mutation}(callId: $id) { ${CALL_FIELDS} } }`, { id: callId }, u.token);
  };
  const ok = async (u: TestUser, mutation: string, callId: string): Promise<CallT> => {
    const r = await op(u, mutation, callId);
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    return r.data![mutation];
  };
  const code = async (u: TestUser, mutation: string, callId: string): Promise<unknown> => (await op(u, mutation, callId)).errors?.[0]?.extensions?.code;
  const start = async (u: TestUser, input: Record<string, unknown>, target = api) => {
    const r = await target.gql<{ startCall: CallT }>(`mutation($i: StartCallInput!) { startCall(input: $i) { ${CALL_FIELDS} } }`, { i: input }, u.token);
    return r;
  };
  const startOk = async (u: TestUser, input: Record<string, unknown>, target = api): Promise<CallT> => {
    const r = await start(u, input, target);
    expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    return r.data!.startCall;
  };
  /** The next callUpdated event of this call, skipping others. */
  const nextOf = async (sub: Updated, callId: string): Promise<CallT> => {
    for (;;) {
      const r = await sub.next();
      if (r.data?.callUpdated.id === callId) return r.data.callUpdated;
    }
  };
  const subscribeCalls = (c: TestWsClient): Updated => c.subscribe(`subscription { callUpdated { ${CALL_FIELDS} } }`) as Updated;
  /**
   * callUpdated of `u`, live on `target` before it returns (graphql-ws acknowledges no
   * subscribe): direct calls come on the user's topic, group calls on the group's.
   */
  const liveCalls = (c: TestWsClient, u: TestUser, target = api, groupId?: string): Promise<Updated> =>
    listening(target, groupId ? topic("CONVERSATION", groupId) : topic("USER", u.id), () => subscribeCalls(c));

  beforeAll(async () => {
    api = await startTestApi();
    [kim, lou, max, nia] = await Promise.all(["kim", "lou", "max", "nia"].map((n) => registerUser(api, n)));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  it("runs a full direct call: start, ring, accept, signals both ways, end", async () => {
    const kimWs = await ws(kim);
    const louPhone = await ws(lou);
    const louLaptop = await ws(lou);
    const kimCalls = await liveCalls(kimWs, kim);
    const phoneCalls = await liveCalls(louPhone, lou);
    const laptopCalls = await liveCalls(louLaptop, lou);

    const call = await startOk(kim, { recipientId: lou.id, callType: "VIDEO", metadata: { codec: "vp9" } });
    expect(call).toMatchObject({
      status: "INITIATED",
      callType: "VIDEO",
      caller: { username: "kim" },
      recipient: { username: "lou" },
      group: null,
      endedAt: null,
      duration: null,
      metadata: { codec: "vp9" },
    });
    expect(call.participants).toEqual([{ user: { username: "kim" }, joinedAt: expect.any(String), leftAt: null }]);
    // Incoming call on both of lou's devices and on kim's own stream.
    expect((await nextOf(phoneCalls, call.id)).status).toBe("INITIATED");
    expect((await nextOf(laptopCalls, call.id)).status).toBe("INITIATED");
    expect((await nextOf(kimCalls, call.id)).status).toBe("INITIATED");

    // Both sides subscribe to their signals once the call exists.
    const SIGNALS = `subscription($c: ID!) { callSignal(callId: $c) { callId from { username } signal } }`;
    type Signals = { callSignal: { callId: string; from: { username: string }; signal: unknown } };
    const kimSignals = await listening(api, topic("CALL_SIGNAL", `${call.id}:${kim.id}`), () => kimWs.subscribe<Signals>(SIGNALS, { c: call.id }));
    const louSignals = await listening(api, topic("CALL_SIGNAL", `${call.id}:${lou.id}`), () => louPhone.subscribe<Signals>(SIGNALS, { c: call.id }));

    expect(await code(kim, "acceptCall", call.id)).toBe("FORBIDDEN");
    // Accepting before the device rang skips a state: refused.
    expect(await code(lou, "acceptCall", call.id)).toBe("INVALID_CALL_STATE");
    expect((await ok(lou, "ringCall", call.id)).status).toBe("RINGING");
    expect((await nextOf(kimCalls, call.id)).status).toBe("RINGING");
    // The laptop rings too: nothing changes.
    expect((await ok(lou, "ringCall", call.id)).status).toBe("RINGING");

    // Answered on the phone: the laptop learns it was accepted.
    const accepted = await ok(lou, "acceptCall", call.id);
    expect(accepted.status).toBe("ONGOING");
    expect((await nextOf(phoneCalls, call.id)).status).toBe("RINGING");
    const onLaptop = await nextOf(laptopCalls, call.id);
    expect(onLaptop.status).toBe("RINGING");
    const acceptedOnLaptop = await nextOf(laptopCalls, call.id);
    expect(acceptedOnLaptop.status).toBe("ONGOING");
    expect(acceptedOnLaptop.participants.find((p) => p.user.username === "lou")).toMatchObject({ joinedAt: expect.any(String), leftAt: null });
    expect((await nextOf(kimCalls, call.id)).status).toBe("ONGOING");
    // A second accept (the laptop, a moment too late) is refused.
    expect(await code(lou, "acceptCall", call.id)).toBe("INVALID_CALL_STATE");

    // WebRTC signals, each to one participant only.
    const signal = async (from: TestUser, to: TestUser, payload: unknown) =>
      api.gql<{ sendCallSignal: boolean }>(
        `mutation($c: ID!, $t: ID!, $s: JSON!) { sendCallSignal(callId: $c, toUserId: $t, signal: $s) }`,
        { c: call.id, t: to.id, s: payload },
        from.token,
      );
    const offer = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };
    expect((await signal(kim, lou, offer)).data?.sendCallSignal).toBe(true);
    expect((await louSignals.next()).data?.callSignal).toEqual({ callId: call.id, from: { username: "kim" }, signal: offer });
    const answer = { type: "answer", sdp: "v=0\r\n" };
    expect((await signal(lou, kim, answer)).data?.sendCallSignal).toBe(true);
    expect((await kimSignals.next()).data?.callSignal).toEqual({ callId: call.id, from: { username: "lou" }, signal: answer });
    const candidate = { candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host", sdpMid: "0" };
    await signal(lou, kim, candidate);
    expect((await kimSignals.next()).data?.callSignal.signal).toEqual(candidate);
    // Nobody got their own signals back.
    expect(kimSignals.pending).toHaveLength(0);
    expect(louSignals.pending).toHaveLength(0);
    // Outsiders, oversize signals and bad targets are refused.
    expect((await signal(max, kim, offer)).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await signal(kim, max, offer)).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const big = await signal(kim, lou, { sdp: "x".repeat(64 * 1024) });
    expect(big.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "signal" }] });
    expect((await signal(kim, kim, offer)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");

    const ended = await ok(kim, "endCall", call.id);
    expect(ended.status).toBe("ENDED");
    expect(ended.endedAt).toEqual(expect.any(String));
    expect(ended.duration).toEqual(expect.any(Number));
    expect(ended.duration).toBeGreaterThanOrEqual(0);
    expect(ended.participants.every((p) => p.leftAt)).toBe(true);
    expect((await nextOf(laptopCalls, call.id)).status).toBe("ENDED");
    // Over is over.
    for (const m of ["ringCall", "acceptCall", "rejectCall", "leaveCall", "endCall", "joinCall"])
      expect(await code(lou, m, call.id)).toBe("INVALID_CALL_STATE");
    expect((await signal(kim, lou, offer)).errors?.[0]?.extensions?.code).toBe("INVALID_CALL_STATE");

    // Stored as seed 004 has it.
    const stored = await api.db.models.Call.findById(call.id).lean();
    expect(stored).toMatchObject({ status: "ended", call_type: "video", metadata: { codec: "vp9" } });
    expect(typeof stored!.duration).toBe("number");

    // History, newest first, for both sides; invisible to others.
    const hist = await api.gql<{ calls: { totalCount: number; edges: Array<{ node: { id: string; status: string } }> } }>(
      `{ calls(first: 5) { totalCount edges { node { id status } } } }`,
      {},
      lou.token,
    );
    expect(hist.data?.calls.edges[0].node).toEqual({ id: call.id, status: "ENDED" });
    const seen = await api.gql<{ call: { id: string } }>(`query($id: ID!) { call(id: $id) { id } }`, { id: call.id }, max.token);
    expect(seen.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const node = await api.gql<{ node: { __typename: string; status: string } }>(
      `query($id: ID!) { node(id: $id) { __typename ... on Call { status } } }`,
      { id: call.id },
      kim.token,
    );
    expect(node.data?.node).toEqual({ __typename: "Call", status: "ENDED" });
  });

  it("lets exactly one of several devices accepting at once win", async () => {
    const call = await startOk(kim, { recipientId: lou.id, callType: "VOICE" });
    await ok(lou, "ringCall", call.id);
    const results = await Promise.all(Array.from({ length: 6 }, () => op(lou, "acceptCall", call.id)));
    const won = results.filter((r) => !r.errors);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.errors?.[0]?.extensions?.code === "INVALID_CALL_STATE")).toHaveLength(5);
    const stored = await api.db.models.Call.findById(call.id).lean();
    expect(stored!.participants.filter((p) => p.user_id.toHexString() === lou.id)).toHaveLength(1);
    expect(stored!.rev).toBe(2); // ring, then one accept
    await ok(lou, "endCall", call.id);
  });

  it("keeps outsiders out: a stranger cannot see, ring or subscribe to someone else's call", async () => {
    const call = await startOk(kim, { recipientId: lou.id, callType: "VOICE" });
    expect(await code(max, "ringCall", call.id)).toBe("NOT_FOUND");
    expect(await code(max, "endCall", call.id)).toBe("NOT_FOUND");
    const maxWs = await ws(max);
    const sub = maxWs.subscribe(`subscription($c: ID!) { callSignal(callId: $c) { callId } }`, { c: call.id });
    const r = await sub.next();
    expect(r.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(await code(kim, "ringCall", "nope")).toBe("BAD_USER_INPUT");
    expect(await code(kim, "ringCall", "65a000000000000000000000")).toBe("NOT_FOUND");
    expect(await code(kim, "joinCall", call.id)).toBe("INVALID_CALL_STATE");
    expect((await ok(kim, "endCall", call.id)).status).toBe("MISSED");
  });

  it("ends as REJECTED when the callee declines, and as MISSED when the caller hangs up first", async () => {
    const kimWs = await ws(kim);
    const kimCalls = await liveCalls(kimWs, kim);
    const declined = await startOk(kim, { recipientId: lou.id, callType: "VOICE" });
    await ok(lou, "ringCall", declined.id);
    const rejected = await ok(lou, "rejectCall", declined.id);
    expect(rejected).toMatchObject({ status: "REJECTED", duration: null, endedAt: expect.any(String) });
    expect((await nextOf(kimCalls, declined.id)).status).toBe("INITIATED");
    expect((await nextOf(kimCalls, declined.id)).status).toBe("RINGING");
    expect((await nextOf(kimCalls, declined.id)).status).toBe("REJECTED");
    expect(await code(lou, "acceptCall", declined.id)).toBe("INVALID_CALL_STATE");

    const cancelled = await startOk(kim, { recipientId: lou.id, callType: "VOICE" });
    expect((await ok(kim, "leaveCall", cancelled.id)).status).toBe("MISSED");
    // The callee hanging up an incoming call is a decline.
    const hungUp = await startOk(lou, { recipientId: kim.id, callType: "VOICE" });
    expect((await ok(kim, "endCall", hungUp.id)).status).toBe("REJECTED");
  });

  it("refuses calls between users when either blocked the other, to inactive users and with bad input", async () => {
    const block = await api.gql(`mutation($u: ID!) { blockUser(userId: $u) { status } }`, { u: max.id }, nia.token);
    expect(block.errors).toBeUndefined();
    expect((await start(max, { recipientId: nia.id, callType: "VOICE" })).errors?.[0]?.extensions?.code).toBe("BLOCKED");
    expect((await start(nia, { recipientId: max.id, callType: "VOICE" })).errors?.[0]?.extensions?.code).toBe("BLOCKED");
    await api.gql(`mutation($u: ID!) { unblockUser(userId: $u) }`, { u: max.id }, nia.token);

    const both = await start(kim, { recipientId: lou.id, groupId: lou.id, callType: "VOICE" });
    expect(both.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "recipientId" }] });
    const none = await start(kim, { callType: "VOICE" });
    expect(none.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const self = await start(kim, { recipientId: kim.id, callType: "VOICE" });
    expect(self.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const arrayMeta = await start(kim, { recipientId: lou.id, callType: "VOICE", metadata: [1, 2] });
    expect(arrayMeta.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "metadata" }] });
    const operatorMeta = await start(kim, { recipientId: lou.id, callType: "VOICE", metadata: { $where: "1" } });
    expect(operatorMeta.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    // JSON written inline in the document (not as a variable) is accepted and stored as given.
    const literal = await api.gql<{ startCall: { id: string; metadata: unknown } }>(
      `mutation { startCall(input: { recipientId: "${lou.id}", callType: VOICE, metadata: { room: "blue", tags: ["a"] } }) { id metadata } }`,
      {},
      kim.token,
    );
    expect(literal.errors, JSON.stringify(literal.errors)).toBeUndefined();
    expect(literal.data?.startCall.metadata).toEqual({ room: "blue", tags: ["a"] });
    await ok(kim, "endCall", literal.data!.startCall.id);
    const unknown = await start(kim, { recipientId: "65a000000000000000000000", callType: "VOICE" });
    expect(unknown.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const before = await api.db.models.Call.countDocuments();
    const unauth = await api.gql(`mutation { startCall(input: { recipientId: "${lou.id}", callType: VOICE }) { id } }`);
    expect(unauth.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await api.db.models.Call.countDocuments()).toBe(before);
  });

  it("runs a group call: members are rung, one accepts, others join and leave, the last to leave ends it", async () => {
    const g = await api.gql<{ createGroup: { id: string } }>(
      `mutation($i: CreateGroupInput!) { createGroup(input: $i) { id } }`,
      { i: { name: "Band", memberIds: [lou.id, max.id, nia.id] } },
      kim.token,
    );
    const groupId = g.data!.createGroup.id;
    const maxWs = await ws(max);
    const maxCalls = await liveCalls(maxWs, max, api, groupId);

    const call = await startOk(kim, { groupId, callType: "VOICE" });
    expect(call).toMatchObject({ status: "INITIATED", group: { name: "Band" }, recipient: null });
    expect((await nextOf(maxCalls, call.id)).status).toBe("INITIATED");
    await ok(lou, "ringCall", call.id);
    expect(await code(max, "joinCall", call.id)).toBe("INVALID_CALL_STATE");
    expect((await ok(lou, "acceptCall", call.id)).status).toBe("ONGOING");
    expect(await code(max, "acceptCall", call.id)).toBe("INVALID_CALL_STATE");
    const joined = await ok(max, "joinCall", call.id);
    expect(joined.participants.map((p) => p.user.username).sort()).toEqual(["kim", "lou", "max"]);
    expect(await code(max, "endCall", call.id)).toBe("FORBIDDEN");
    expect((await ok(lou, "leaveCall", call.id)).status).toBe("ONGOING");
    expect(await code(lou, "leaveCall", call.id)).toBe("INVALID_CALL_STATE");
    // Leaving and coming back.
    expect((await ok(lou, "joinCall", call.id)).participants.find((p) => p.user.username === "lou")?.leftAt).toBeNull();
    await ok(lou, "leaveCall", call.id);
    await ok(max, "leaveCall", call.id);
    const last = await ok(kim, "leaveCall", call.id);
    expect(last.status).toBe("ENDED");
    expect(last.duration).toEqual(expect.any(Number));
    const events: string[] = [];
    for (;;) {
      const ev = await nextOf(maxCalls, call.id);
      events.push(ev.status);
      if (ev.status === "ENDED") break;
    }
    expect(events[0]).toBe("RINGING");
    expect(events.at(-1)).toBe("ENDED");

    // Everyone declines: REJECTED.
    const declined = await startOk(kim, { groupId, callType: "VIDEO" });
    expect((await ok(lou, "rejectCall", declined.id)).status).toBe("INITIATED");
    expect(await code(lou, "rejectCall", declined.id)).toBe("INVALID_CALL_STATE");
    expect((await ok(max, "rejectCall", declined.id)).status).toBe("INITIATED");
    expect((await ok(nia, "rejectCall", declined.id)).status).toBe("REJECTED");

    // Outsiders cannot start or see group calls.
    const outsider = await registerUser(api, "ozzy");
    expect((await start(outsider, { groupId, callType: "VOICE" })).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(await code(outsider, "joinCall", call.id)).toBe("NOT_FOUND");
  });

  it("marks an unanswered call MISSED after the ring timeout, even when the instance that started it is gone", async () => {
    // Two instances on one database with a 1 s ring timeout: A starts calls and stops at once.
    const a = await startTestApi({ CALL_RING_TIMEOUT: "1" }, { shared: { mongo: api.mongo } });
    const b = await startTestApi({ CALL_RING_TIMEOUT: "1" }, { shared: { mongo: api.mongo } });
    try {
      const louOnB = await ws(lou, b);
      const louCalls = await liveCalls(louOnB, lou, b);
      const call = await startOk(kim, { recipientId: lou.id, callType: "VOICE" }, a);
      await a.stop();
      // B never saw the call start (no Redis between them here): its sweep marks it and publishes.
      const missed = await nextOf(louCalls, call.id);
      expect(missed).toMatchObject({ status: "MISSED", duration: null, endedAt: expect.any(String) });
      expect(await code(lou, "acceptCall", call.id)).toBe("INVALID_CALL_STATE");

      // On the starting instance itself, the caller sees MISSED too.
      const kimOnB = await ws(kim, b);
      const kimCalls = await liveCalls(kimOnB, kim, b);
      const rung = await startOk(kim, { recipientId: lou.id, callType: "VOICE" }, b);
      const r = await b.gql<{ ringCall: { status: string } }>(`mutation($id: ID!) { ringCall(callId: $id) { status } }`, { id: rung.id }, lou.token);
      expect(r.data?.ringCall.status).toBe("RINGING");
      expect((await nextOf(kimCalls, rung.id)).status).toBe("INITIATED");
      expect((await nextOf(kimCalls, rung.id)).status).toBe("RINGING");
      expect((await nextOf(kimCalls, rung.id)).status).toBe("MISSED");
    } finally {
      await b.stop();
    }
  });
});
