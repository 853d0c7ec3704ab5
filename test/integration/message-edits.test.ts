/**
 * Issue 15 over real HTTP and graphql-ws: edits keep their history (capped, members only, live
 * without a read per subscriber), the edit window, hide for me (only the viewer's pages, still
 * one range read), and forwarding (through the send path: rights, blocks, membership, limits,
 * idempotency; the attachment readable by the new recipients).
 */
import mongoose, { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type GqlResult, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { until, nextUpdateOf } from "../helpers/wait.js";
import { befriend, createGroup, ok } from "../helpers/social.js";
import { loadConfig, ConfigError } from "../../src/config.js";
import { EDIT_HISTORY_CAP } from "../../src/modules/message/message-edit.service.js";
import { notHiddenFor } from "../../src/modules/message/message.service.js";

const FIELDS = `id conversationId seq content messageType isDeleted editedAt createdAt forwarded editHistory { content at } sender { username } attachment { ... on File { id } }`;
const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { ${FIELDS} } }`;
const EDIT = `mutation($id: ID!, $c: String!) { editMessage(id: $id, content: $c) { ${FIELDS} } }`;
const HISTORY = `query($c: ID!, $f: Int, $a: String) { messages(conversationId: $c, first: $f, after: $a) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${FIELDS} } } } }`;
const FORWARD = `mutation($m: ID!, $r: ID, $g: ID, $k: String) { forwardMessage(messageId: $m, recipientId: $r, groupId: $g, clientMessageId: $k) { __typename ${FIELDS} } }`;
const UPDATED = `subscription($c: ID) { messageUpdated(conversationId: $c) { id content editedAt editHistory { content at } } }`;
const PDF = Buffer.from("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");

interface Msg {
  __typename?: string;
  conversationId: string;
  id: string;
  seq: number;
  content: string | null;
  messageType: string;
  isDeleted: boolean;
  editedAt: string | null;
  createdAt: string;
  forwarded: boolean;
  editHistory: Array<{ content: string; at: string }>;
  sender: { username: string };
  attachment: { id: string } | null;
}
type Page = { messages: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: Array<{ node: Msg }> } };
type Updated = { messageUpdated: { id: string; content: string | null; editedAt: string | null; editHistory: Array<{ content: string; at: string }> } };

const codeOf = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code;
const fieldsOf = (r: GqlResult<unknown>) => (r.errors?.[0]?.extensions?.fields as Array<{ field: string }> | undefined)?.map((f) => f.field);

/** Uploads a small PDF as `u` and returns the File id. */
async function uploadPdf(api: TestApi, u: TestUser): Promise<string> {
  const ticket = (
    await ok<{ createUpload: { uploadId: string; uploadUrl: string } }>(
      api,
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId uploadUrl } }`,
      { i: { originalFilename: "report.pdf", mimeType: "application/pdf", fileSize: PDF.length } },
      u,
    )
  ).createUpload;
  expect((await fetch(new URL(ticket.uploadUrl, api.url), { method: "PUT", body: PDF })).status).toBe(200);
  return (
    await ok<{ completeUpload: { id: string } }>(api, `mutation($id: ID!) { completeUpload(uploadId: $id) { ... on File { id } } }`, { id: ticket.uploadId }, u)
  ).completeUpload.id;
}

/** Whether `u` may read the file: its metadata and its bytes through the signed URL. */
async function canDownload(api: TestApi, u: TestUser, fileId: string): Promise<boolean> {
  const res = await api.gql<{ file: { url: string } }>(`query($id: ID!) { file(id: $id) { url } }`, { id: fileId }, u.token);
  if (codeOf(res) === "NOT_FOUND") return false;
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  const bytes = await fetch(new URL(res.data!.file.url, api.url));
  expect(bytes.status).toBe(200);
  expect(Buffer.from(await bytes.arrayBuffer()).equals(PDF)).toBe(true);
  return true;
}

/**
 * Waits until a messageUpdated stream is live (graphql-ws does not acknowledge a subscribe):
 * edits a probe message of the same conversation until the stream shows one, then drops what
 * the probe produced. No fixed sleep; the probe is not the message under test.
 */
async function untilLive(api: TestApi, streams: Array<Queued<{ data?: Updated }>>, probe: { id: string; token: string }): Promise<void> {
  let n = 0;
  await until(async () => {
    await ok(api, `mutation($id: ID!, $c: String!) { editMessage(id: $id, content: $c) { id } }`, { id: probe.id, c: `probe ${++n}` }, probe.token);
    return streams.every((s) => s.pending.some((r) => r.data?.messageUpdated.id === probe.id));
  }, "messageUpdated streams to be live");
}

describe("edits, hide for me and forwarding", () => {
  let api: TestApi;
  let amy: TestUser, bo: TestUser, cal: TestUser, dan: TestUser, eve: TestUser;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser) => {
    const c = await connectWs(wsUrl(api.url), u.token);
    clients.push(c);
    return c;
  };
  const send = async (from: TestUser, to: TestUser, content: string, extra: Record<string, unknown> = {}) =>
    (await ok<{ sendMessage: Msg }>(api, SEND, { i: { recipientId: to.id, content, ...extra } }, from)).sendMessage;
  const edit = (u: TestUser, id: string, c: string) => api.gql<{ editMessage: Msg }>(EDIT, { id, c }, u.token);
  const page = (u: TestUser, c: string, f: number, a?: string | null) => api.gql<Page>(HISTORY, { c, f, a }, u.token);
  const stored = async (id: string) => (await api.db.models.DirectMessage.findById(id).lean()) ?? (await api.db.models.GroupMessage.findById(id).lean());

  beforeAll(async () => {
    api = await startTestApi();
    [amy, bo, cal, dan, eve] = await Promise.all(["amy_e", "bo_e", "cal_e", "dan_e", "eve_e"].map((n) => registerUser(api, n)));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
  });

  describe("edit history", () => {
    it("keeps each replaced content with its time, for members over HTTP and live, with no read per subscriber", async () => {
      const probe = await send(amy, bo, "probe");
      const m = await send(amy, bo, "v1");
      expect(m).toMatchObject({ editHistory: [], forwarded: false, editedAt: null });
      const boWs = await ws(bo);
      const amyWs = await ws(amy);
      const streams = [boWs.subscribe<Updated>(UPDATED, { c: probe.conversationId }), amyWs.subscribe<Updated>(UPDATED, { c: probe.conversationId })];
      await untilLive(api, streams, { id: probe.id, token: amy.token });

      const first = await edit(amy, m.id, "v2");
      expect(first.errors).toBeUndefined();
      const e1 = first.data!.editMessage;
      expect(e1).toMatchObject({ content: "v2", editHistory: [{ content: "v1", at: m.createdAt }] });
      const second = (await edit(amy, m.id, "v3")).data!.editMessage;
      expect(second.content).toBe("v3");
      expect(second.editHistory).toEqual([
        { content: "v1", at: m.createdAt },
        { content: "v2", at: e1.editedAt },
      ]);

      // Both members' streams carry the history with the event.
      for (const s of streams) {
        expect(await nextUpdateOf(s, m.id)).toEqual({ id: m.id, content: "v2", editedAt: e1.editedAt, editHistory: [{ content: "v1", at: m.createdAt }] });
        expect(await nextUpdateOf(s, m.id)).toEqual({ id: m.id, content: "v3", editedAt: second.editedAt, editHistory: second.editHistory });
      }
      // The recipient reads the same history from the conversation's pages.
      const read = (await page(bo, probe.conversationId, 10)).data!.messages.edges.map((e) => e.node).find((n) => n.id === m.id);
      expect(read?.editHistory).toEqual(second.editHistory);

      // Delivering one edit to two subscribers costs what delivering it to one does: the
      // event carries the history (no database read per subscriber).
      const deliver = async (subs: typeof streams, c: string) =>
        (
          await countCommands(api, async () => {
            await edit(amy, m.id, c);
            for (const s of subs) await nextUpdateOf(s, m.id);
          })
        ).count;
      const withTwo = await deliver(streams, "v4");
      streams[1].stop();
      const withOne = await deliver([streams[0]], "v5");
      expect(withTwo).toBe(withOne);
    });

    it("is visible to members only: outsiders and non-senders change nothing", async () => {
      const m = await send(amy, bo, "members only");
      await ok(api, EDIT, { id: m.id, c: "members only!" }, amy);
      // An outsider cannot read the conversation (so not the history either), nor edit.
      expect(codeOf(await page(cal, (await send(amy, bo, "x")).conversationId, 5))).toBe("NOT_FOUND");
      expect(codeOf(await edit(cal, m.id, "hijack"))).toBe("NOT_FOUND");
      // The recipient is a member but not the sender.
      expect(codeOf(await edit(bo, m.id, "hijack"))).toBe("FORBIDDEN");
      // Shape rules: blank content is refused and names the field.
      const blank = await edit(amy, m.id, "   ");
      expect(codeOf(blank)).toBe("BAD_USER_INPUT");
      expect(fieldsOf(blank)).toEqual(["content"]);
      const doc = await stored(m.id);
      expect(doc).toMatchObject({ content: "members only!", edit_history: [{ content: "members only" }] });
    });

    it(`keeps the last ${EDIT_HISTORY_CAP} earlier contents, and a delete clears them`, async () => {
      const m = await send(amy, bo, "c0");
      let last: Msg | undefined;
      for (let i = 1; i <= EDIT_HISTORY_CAP + 5; i++) last = (await ok<{ editMessage: Msg }>(api, EDIT, { id: m.id, c: `c${i}` }, amy)).editMessage;
      // 25 edits replaced c0..c24; the oldest 5 were dropped.
      expect(last!.editHistory.map((e) => e.content)).toEqual(Array.from({ length: EDIT_HISTORY_CAP }, (_, i) => `c${i + 5}`));
      expect((await stored(m.id))?.edit_history).toHaveLength(EDIT_HISTORY_CAP);
      const deleted = await ok<{ deleteMessage: Msg }>(api, `mutation($id: ID!) { deleteMessage(id: $id) { ${FIELDS} } }`, { id: m.id }, amy);
      expect(deleted.deleteMessage).toMatchObject({ isDeleted: true, content: null, editHistory: [] });
      const doc = await stored(m.id);
      expect(doc?.content).toBe("");
      expect(doc).not.toHaveProperty("edit_history");
      expect(codeOf(await edit(amy, m.id, "back"))).toBe("FORBIDDEN");
    });

    it("parses MESSAGE_EDIT_WINDOW_SECONDS: unset or empty is no limit, a bad value stops start-up", () => {
      expect(loadConfig({ NODE_ENV: "test" }).messageEditWindowSeconds).toBeNull();
      expect(loadConfig({ NODE_ENV: "test", MESSAGE_EDIT_WINDOW_SECONDS: "" }).messageEditWindowSeconds).toBeNull();
      expect(loadConfig({ NODE_ENV: "test", MESSAGE_EDIT_WINDOW_SECONDS: "900" }).messageEditWindowSeconds).toBe(900);
      for (const bad of ["0", "-5", "1.5", "soon"]) expect(() => loadConfig({ NODE_ENV: "test", MESSAGE_EDIT_WINDOW_SECONDS: bad })).toThrow(ConfigError);
    });
  });

  describe("hide for me", () => {
    let conv = "";
    const ids: string[] = [];
    const hide = (u: TestUser, id: string, op = "hideMessage") =>
      api.gql<Record<string, boolean>>(`mutation($m: ID!) { ${op}(messageId: $m) }`, { m: id }, u.token);
    const seqsOf = async (u: TestUser, size: number): Promise<{ seqs: number[]; totalCount: number }> => {
      const seqs: number[] = [];
      let after: string | null = null;
      for (;;) {
        const res: GqlResult<Page> = await page(u, conv, size, after);
        expect(res.errors).toBeUndefined();
        const p = res.data!.messages;
        seqs.push(...p.edges.map((e) => e.node.seq));
        if (!p.pageInfo.hasNextPage) return { seqs, totalCount: p.totalCount };
        after = p.pageInfo.endCursor;
      }
    };

    beforeAll(async () => {
      for (let i = 1; i <= 5; i++) {
        const m = await send(cal, dan, `walrus ${i}`);
        conv = m.conversationId;
        ids.push(m.id);
      }
    });

    it("leaves hidden messages out of the viewer's pages and search only", async () => {
      expect((await hide(dan, ids[1])).data).toEqual({ hideMessage: true });
      expect((await hide(dan, ids[3])).data).toEqual({ hideMessage: true });
      // Idempotent: one entry per viewer.
      expect((await hide(dan, ids[3])).data).toEqual({ hideMessage: true });
      expect((await stored(ids[3]))?.hidden_for?.map(String)).toEqual([dan.id]);
      // Pages of two keep their size and order around the hidden ones.
      expect(await seqsOf(dan, 2)).toEqual({ seqs: [1, 3, 5], totalCount: 3 });
      expect(await seqsOf(cal, 2)).toEqual({ seqs: [1, 2, 3, 4, 5], totalCount: 5 });
      const search = (u: TestUser) =>
        api.gql<{ searchMessages: { edges: Array<{ node: { id: string } }> } }>(
          `query($c: ID) { searchMessages(query: "walrus", conversationId: $c) { edges { node { id } } } }`,
          { c: conv },
          u.token,
        );
      expect((await search(dan)).data?.searchMessages.edges).toHaveLength(3);
      expect((await search(cal)).data?.searchMessages.edges).toHaveLength(5);

      expect((await hide(dan, ids[3], "unhideMessage")).data).toEqual({ unhideMessage: true });
      expect(await seqsOf(dan, 2)).toEqual({ seqs: [1, 3, 4, 5], totalCount: 4 });
      expect(await seqsOf(cal, 10)).toEqual({ seqs: [1, 2, 3, 4, 5], totalCount: 5 });
    });

    it("keeps a history page one index range read", async () => {
      const cost = async (u: TestUser) => (await countCommands(api, () => page(u, conv, 2))).names;
      // The viewer with a hidden message pays exactly the commands of one without.
      expect(await cost(dan)).toEqual(await cost(cal));
      const plan = JSON.stringify(
        await api.db.models.DirectMessage.find({ conversation_id: new Types.ObjectId(conv), ...notHiddenFor(dan.id), seq: mongoose.trusted({ $gt: 1 }) })
          .sort({ seq: 1 })
          .limit(3)
          .explain("queryPlanner"),
      );
      expect(plan).not.toContain("COLLSCAN");
      expect(plan).toMatch(/IXSCAN|EXPRESS/);
    });

    it("refuses non-members as reading the message does, and bad ids by field", async () => {
      const asRead = await edit(eve, ids[0], "x");
      const asHide = await hide(eve, ids[0]);
      expect(codeOf(asHide)).toBe("NOT_FOUND");
      expect(asHide.errors?.[0].message).toBe(asRead.errors?.[0].message);
      expect(codeOf(await hide(eve, ids[0], "unhideMessage"))).toBe("NOT_FOUND");
      expect((await stored(ids[0]))?.hidden_for ?? []).toEqual([]);
      const bad = await hide(dan, "nope");
      expect(codeOf(bad)).toBe("BAD_USER_INPUT");
      expect(fieldsOf(bad)).toEqual(["messageId"]);
    });
  });

  describe("forwarding", () => {
    let fileId = "";
    let source: Msg;
    let group = "";
    const forward = (u: TestUser, vars: { m: string; r?: string; g?: string; k?: string }) => api.gql<{ forwardMessage: Msg }>(FORWARD, vars, u.token);
    const lastSeq = async (conversationId: string) => (await api.db.models.Conversation.findById(conversationId).lean())?.last_seq ?? 0;
    const directConv = async (a: TestUser, b: TestUser) =>
      (await api.db.models.Conversation.findOne({ direct_key: [a.id, b.id].sort().join(":") }).lean())?._id.toHexString() ?? null;
    /** Messages in the direct conversation of two users (0 when it does not exist). */
    const directSeq = async (a: TestUser, b: TestUser) => {
      const id = await directConv(a, b);
      return id ? lastSeq(id) : 0;
    };

    beforeAll(async () => {
      fileId = await uploadPdf(api, amy);
      source = await send(amy, bo, "the report", { messageType: "DOCUMENT", attachmentId: fileId });
      group = await createGroup(api, bo, [cal, eve], "forwards");
    });

    it("forwards to a user with the attachment, readable by the new recipient", async () => {
      expect(await canDownload(api, dan, fileId)).toBe(false);
      const res = await forward(bo, { m: source.id, r: dan.id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.forwardMessage).toMatchObject({
        __typename: "Message",
        content: "the report",
        messageType: "DOCUMENT",
        forwarded: true,
        sender: { username: "bo_e" },
        attachment: { id: fileId },
        seq: 1,
        editHistory: [],
      });
      expect(res.data!.forwardMessage.conversationId).toBe(await directConv(bo, dan));
      expect(await canDownload(api, dan, fileId)).toBe(true);
      // The source is unchanged and not marked.
      expect((await stored(source.id))?.forwarded).toBeUndefined();
    });

    it("forwards to a group once per clientMessageId; members get it live and can download", async () => {
      expect(await canDownload(api, eve, fileId)).toBe(false);
      const eveWs = await ws(eve);
      const added = eveWs.subscribe<{ messageAdded: { id: string; seq: number; forwarded: boolean; content: string } }>(
        `subscription($c: ID, $a: Int) { messageAdded(conversationId: $c, afterSeq: $a) { id seq forwarded content } }`,
        { c: group, a: 0 },
      );
      const first = (await forward(bo, { m: source.id, g: group, k: "fw-1" })).data!.forwardMessage;
      expect(first).toMatchObject({ __typename: "GroupMessage", conversationId: group, forwarded: true, attachment: { id: fileId }, seq: 1 });
      expect((await added.next()).data?.messageAdded).toEqual({ id: first.id, seq: 1, forwarded: true, content: "the report" });
      // A retry is answered with the first forward: no second message, no new seq.
      const retry = (await forward(bo, { m: source.id, g: group, k: "fw-1" })).data!.forwardMessage;
      expect(retry.id).toBe(first.id);
      expect(await lastSeq(group)).toBe(1);
      expect(await canDownload(api, eve, fileId)).toBe(true);
      // A forward of a forward stays marked.
      const again = (await forward(cal, { m: first.id, r: eve.id })).data!.forwardMessage;
      expect(again).toMatchObject({ forwarded: true, attachment: { id: fileId } });
    });

    it("refuses non-readers, blocked targets, non-members of the target group and removed members, storing nothing", async () => {
      const before = { calBo: await directSeq(cal, bo), group: await lastSeq(group) };
      // cal cannot read amy↔bo: refused as reading it is.
      const outsider = await forward(cal, { m: source.id, r: bo.id });
      expect(codeOf(outsider)).toBe("NOT_FOUND");
      expect(outsider.errors?.[0].message).toBe("Message not found");
      expect(await directSeq(cal, bo)).toBe(before.calBo);
      // dan blocks bo: bo cannot forward to dan.
      await ok(api, `mutation($u: ID!) { blockUser(userId: $u) { id } }`, { u: bo.id }, dan);
      const danBefore = await directSeq(bo, dan);
      expect(codeOf(await forward(bo, { m: source.id, r: dan.id }))).toBe("BLOCKED");
      expect(await directSeq(bo, dan)).toBe(danBefore);
      await ok(api, `mutation($u: ID!) { unblockUser(userId: $u) }`, { u: bo.id }, dan);
      // amy is not in bo's group.
      expect(codeOf(await forward(amy, { m: source.id, g: group }))).toBe("NOT_FOUND");
      // eve, removed from the group, can no longer read (so forward) its messages.
      const inGroup = (await forward(bo, { m: source.id, g: group, k: "fw-2" })).data!.forwardMessage;
      await ok(api, `mutation($g: ID!, $u: ID!) { removeGroupMember(groupId: $g, userId: $u) { id } }`, { g: group, u: eve.id }, bo);
      expect(codeOf(await forward(eve, { m: inGroup.id, r: cal.id }))).toBe("NOT_FOUND");
      expect(await lastSeq(group)).toBe(before.group + 1);
    });

    it("refuses a deleted source and a source whose upload was deleted", async () => {
      const gone = await send(amy, bo, "soon gone");
      await ok(api, `mutation($id: ID!) { deleteMessage(id: $id) { id } }`, { id: gone.id }, amy);
      const res = await forward(bo, { m: gone.id, r: cal.id });
      expect(codeOf(res)).toBe("FORBIDDEN");
      expect(res.errors?.[0].message).toMatch(/deleted/);
      const other = await uploadPdf(api, amy);
      const carrying = await send(amy, bo, "", { messageType: "DOCUMENT", attachmentId: other });
      await ok(api, `mutation($id: ID!) { deleteFile(id: $id) }`, { id: other }, amy);
      expect(codeOf(await forward(bo, { m: carrying.id, r: cal.id }))).toBe("NOT_FOUND");
    });

    it("names the field of bad input and changes nothing", async () => {
      const seqBefore = await directSeq(bo, cal);
      const neither = await forward(bo, { m: source.id });
      expect([codeOf(neither), fieldsOf(neither)]).toEqual(["BAD_USER_INPUT", ["recipientId"]]);
      const both = await forward(bo, { m: source.id, r: cal.id, g: group });
      expect([codeOf(both), fieldsOf(both)]).toEqual(["BAD_USER_INPUT", ["groupId"]]);
      const badKey = await forward(bo, { m: source.id, r: cal.id, k: "" });
      expect([codeOf(badKey), fieldsOf(badKey)]).toEqual(["BAD_USER_INPUT", ["clientMessageId"]]);
      const badId = await forward(bo, { m: "nope", r: cal.id });
      expect([codeOf(badId), fieldsOf(badId)]).toEqual(["BAD_USER_INPUT", ["messageId"]]);
      const self = await forward(bo, { m: source.id, r: bo.id });
      expect([codeOf(self), fieldsOf(self)]).toEqual(["BAD_USER_INPUT", ["recipientId"]]);
      expect(await directSeq(bo, cal)).toBe(seqBefore);
    });
  });
});

describe("limits: the edit window and the message rate limit", () => {
  let api: TestApi;
  let ann: TestUser, ben: TestUser;

  beforeAll(async () => {
    // A 1 s edit window; three messages per hour (forwards are sends and spend the same budget).
    api = await startTestApi({ MESSAGE_EDIT_WINDOW_SECONDS: "1", MESSAGE_RATE_LIMIT: "3/3600" });
    [ann, ben] = await Promise.all(["ann_w", "ben_w"].map((n) => registerUser(api, n)));
    await befriend(api, ann, ben);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("refuses an edit after the window with a clear error, changing nothing", async () => {
    const m = (
      await ok<{ sendMessage: { id: string; createdAt: string } }>(
        api,
        `mutation($r: ID!) { sendMessage(input: { recipientId: $r, content: "draft" }) { id createdAt } }`,
        { r: ben.id },
        ann,
      )
    ).sendMessage;
    // Wait (polling, no fixed sleep) until the server's clock is past the window for it.
    await until(() => Date.now() - new Date(m.createdAt).getTime() > 1_200, "the edit window to pass");
    const late = await api.gql(`mutation($id: ID!) { editMessage(id: $id, content: "too late") { id } }`, { id: m.id }, ann.token);
    expect(codeOf(late)).toBe("FORBIDDEN");
    expect(late.errors?.[0].message).toBe("Messages can only be edited within 1 seconds of sending");
    const doc = await api.db.models.DirectMessage.findById(m.id).lean();
    expect(doc).toMatchObject({ content: "draft", edited_at: null });
    expect(doc).not.toHaveProperty("edit_history");
  });

  it("counts forwards against the sender's message rate limit", async () => {
    const m = (
      await ok<{ sendMessage: { id: string; conversationId: string } }>(
        api,
        `mutation($r: ID!) { sendMessage(input: { recipientId: $r, content: "fwd me" }) { id conversationId } }`,
        { r: ben.id },
        ann,
      )
    ).sendMessage;
    const fwd = () => api.gql(FORWARD, { m: m.id, r: ann.id }, ben.token);
    // ben has the whole budget of 3: two forwards pass, then a send, then the limit.
    expect((await fwd()).errors).toBeUndefined();
    expect((await fwd()).errors).toBeUndefined();
    expect(
      (await api.gql(`mutation($r: ID!) { sendMessage(input: { recipientId: $r, content: "third" }) { id } }`, { r: ann.id }, ben.token)).errors,
    ).toBeUndefined();
    const limited = await fwd();
    expect(codeOf(limited)).toBe("RATE_LIMITED");
    // draft, fwd me, two forwards, third: the refused forward took no seq.
    expect((await api.db.models.Conversation.findById(m.conversationId).lean())?.last_seq).toBe(5);
  });
});
