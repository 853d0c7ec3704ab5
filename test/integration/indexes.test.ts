/** Every list query a screen runs is served by an index (explain shows no collection scan). */
import mongoose, { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { ContactStatus } from "../../src/modules/contact/contact.entity.js";
import { CallStatus } from "../../src/modules/call/call.entity.js";

describe("index-backed list queries", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    // A few documents so plans are chosen over real data.
    const u = new Types.ObjectId();
    await api.db.models.Conversation.create({ kind: "direct", direct_key: `${u}:x`, members: [{ user_id: u }], last_seq: 1 });
  });
  afterAll(async () => {
    await api?.stop();
  });

  const plan = async (q: { explain: (v: string) => Promise<unknown> }): Promise<string> => JSON.stringify(await q.explain("queryPlanner"));

  it.each([
    ["conversations of a user", (api: TestApi) => api.db.models.Conversation.find({ "members.user_id": new Types.ObjectId() }).sort({ updated_at: -1 })],
    // The list's aggregation leads with this $match (the embedded server serves a leading $match by the query path).
    [
      "conversations of a user, archived ones left out",
      (api: TestApi) => {
        const u = new Types.ObjectId();
        return api.db.models.Conversation.find({
          "members.user_id": u,
          members: mongoose.trusted({ $elemMatch: { user_id: u, archived: mongoose.trusted({ $ne: true }) } }),
        });
      },
    ],
    [
      "a user's pinned conversations",
      (api: TestApi) => {
        const u = new Types.ObjectId();
        return api.db.models.Conversation.find({
          "members.user_id": u,
          members: mongoose.trusted({ $elemMatch: { user_id: u, pinned_at: mongoose.trusted({ $ne: null }) } }),
        });
      },
    ],
    [
      "a conversation's messages by seq",
      (api: TestApi) => api.db.models.DirectMessage.find({ conversation_id: new Types.ObjectId(), seq: mongoose.trusted({ $gt: 5 }) }).sort({ seq: 1 }),
    ],
    ["a group conversation's messages by seq", (api: TestApi) => api.db.models.GroupMessage.find({ conversation_id: new Types.ObjectId() }).sort({ seq: -1 })],
    ["a direct conversation by its pair", (api: TestApi) => api.db.models.Conversation.find({ direct_key: "a:b" })],
    ["my groups", (api: TestApi) => api.db.models.Group.find({ members: new Types.ObjectId() })],
    ["my contacts", (api: TestApi) => api.db.models.Contact.find({ user_id: new Types.ObjectId(), status: ContactStatus.ACCEPTED })],
    ["incoming contact requests", (api: TestApi) => api.db.models.Contact.find({ contact_id: new Types.ObjectId(), status: ContactStatus.PENDING })],
    ["a sender's clientMessageId", (api: TestApi) => api.db.models.GroupMessage.find({ sender_id: new Types.ObjectId(), client_message_id: "x" })],
    ["sessions by refresh token", (api: TestApi) => api.db.models.Session.find({ token_hash: "h" })],
    ["users by name prefix", (api: TestApi) => api.db.models.User.find({ search_keys: /^ab/ })],
    ["my call history", (api: TestApi) => api.db.models.Call.find({ involved_ids: new Types.ObjectId() }).sort({ started_at: -1 })],
    [
      "overdue unanswered calls (the ring sweep)",
      (api: TestApi) =>
        api.db.models.Call.find({
          status: mongoose.trusted({ $in: [CallStatus.INITIATED, CallStatus.RINGING] }),
          ring_deadline: mongoose.trusted({ $lte: new Date() }),
        }),
    ],
    ["presence of users", (api: TestApi) => api.db.models.Presence.find({ user_id: mongoose.trusted({ $in: [new Types.ObjectId(), new Types.ObjectId()] }) })],
    ["messages carrying an upload", (api: TestApi) => api.db.models.DirectMessage.find({ "attachment.media_id": new Types.ObjectId(), is_deleted: false })],
    ["group messages carrying a file", (api: TestApi) => api.db.models.GroupMessage.find({ "attachment.file_id": new Types.ObjectId(), is_deleted: false })],
    ["upload tickets to purge", (api: TestApi) => api.db.models.Upload.find({ purge_at: mongoose.trusted({ $lte: new Date() }) })],
    [
      "who of these users has the viewer as a contact (privacy loader)",
      (api: TestApi) =>
        api.db.models.Contact.find({
          contact_id: new Types.ObjectId(),
          status: mongoose.trusted({ $in: [ContactStatus.ACCEPTED, ContactStatus.BLOCKED] }),
          user_id: mongoose.trusted({ $in: [new Types.ObjectId()] }),
        }),
    ],
    [
      "my group invitations",
      (api: TestApi) =>
        api.db.models.GroupInvitation.find({ user_id: new Types.ObjectId(), expires_at: mongoose.trusted({ $gt: new Date() }) }).sort({ _id: -1 }),
    ],
    [
      "a group's invitations",
      (api: TestApi) => api.db.models.GroupInvitation.find({ group_id: new Types.ObjectId(), expires_at: mongoose.trusted({ $gt: new Date() }) }),
    ],
  ])("%s", async (_name, build) => {
    const p = await plan(build(api) as never);
    expect(p).not.toContain("COLLSCAN");
    expect(p).toMatch(/IXSCAN|IDHACK|EXPRESS/);
  });

  it("searches messages through the text index", async () => {
    const p = await plan(api.db.models.DirectMessage.find({ $text: mongoose.trusted({ $search: "hello" }) }) as never);
    expect(p).toContain("TEXT");
  });
});
