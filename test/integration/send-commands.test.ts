/**
 * What one send costs the database (issue 14: at most 6 commands, no read-back, no per-member
 * write), counted by the driver's command monitoring with the collection of each command:
 * a direct message is the request's session check, the sender and recipient in one read, the
 * contacts both ways in one, then the seq allocation (returning the conversation and moving the
 * sender's marks), the insert and the commit; a group message reads the group's membership instead of the contacts. A retry with
 * the same clientMessageId still gets the stored message, and a second copy is never stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { createGroup, ok } from "../helpers/social.js";

const SEND = `mutation($i: SendMessageInput!) { sendMessage(input: $i) { id seq conversationId } }`;
const SEND_GROUP = `mutation($i: SendGroupMessageInput!) { sendGroupMessage(input: $i) { id seq } }`;

/** The commands (name and collection) sent while `fn` runs, sorted. */
async function commandsOf(api: TestApi, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const client = api.db.connection.getClient();
  const listener = (e: { commandName: string; command: Record<string, unknown> }): void => {
    if (e.command.comment !== undefined) return; // periodic sweeps mark themselves
    const target = e.command[e.commandName];
    seen.push(typeof target === "string" ? `${e.commandName} ${target}` : e.commandName);
  };
  client.on("commandStarted", listener);
  try {
    await fn();
  } finally {
    client.off("commandStarted", listener);
  }
  return seen.sort();
}

describe("database commands of a send", () => {
  let api: TestApi;
  let ana: TestUser, ben: TestUser, cai: TestUser;
  let groupId: string;

  beforeAll(async () => {
    api = await startTestApi();
    ana = await registerUser(api, "ana_cmd");
    ben = await registerUser(api, "ben_cmd");
    cai = await registerUser(api, "cai_cmd");
    // Ana befriends both (createGroup), so ben has accepted ana: no stranger budget either.
    groupId = await createGroup(api, ana, [ben, cai]);
    // The first message of a direct conversation makes it (a cost paid once).
    await ok(api, SEND, { i: { recipientId: ben.id, content: "first" } }, ana);
  });
  afterAll(async () => {
    await api?.stop();
  });

  /** The sender's read and delivered marks in a conversation. */
  async function marksOf(conversationId: string, user: TestUser): Promise<[number, number]> {
    const conv = await api.db.models.Conversation.findById(conversationId).lean();
    const me = conv!.members.find((m) => m.user_id.toHexString() === user.id)!;
    return [me.read_seq, me.delivered_seq];
  }

  it("sends a direct message in 6 commands: no idempotency lookup, no read of the conversation, no read-back", async () => {
    let sent!: { sendMessage: { id: string; seq: number; conversationId: string } };
    const names = await commandsOf(api, async () => {
      sent = await ok(api, SEND, { i: { recipientId: ben.id, content: "counted", clientMessageId: "cmd-d1" } }, ana);
    });
    expect(api.db.transactions).toBe(true);
    // The session check of the request, the sender and recipient, the contacts both ways, then
    // the transaction: the allocation (which also moves the sender's marks), the insert, the commit.
    expect(names).toEqual(["find sessions", "find users", "find contacts", "findAndModify conversations", "insert messages", "commitTransaction"].sort());
    expect(await marksOf(sent.sendMessage.conversationId, ana)).toEqual([sent.sendMessage.seq, sent.sendMessage.seq]);
  });

  it("sends a group message in 6 commands, and only the group's membership is read", async () => {
    await ok(api, SEND_GROUP, { i: { groupId, content: "warm" } }, cai);
    let sent!: { sendGroupMessage: { id: string; seq: number } };
    const names = await commandsOf(api, async () => {
      sent = await ok(api, SEND_GROUP, { i: { groupId, content: "counted", clientMessageId: "cmd-g1" } }, cai);
    });
    expect(names).toEqual(["find sessions", "find users", "find groups", "findAndModify conversations", "insert group_messages", "commitTransaction"].sort());
    expect(await marksOf(groupId, cai)).toEqual([sent.sendGroupMessage.seq, sent.sendGroupMessage.seq]);
    // Nobody else's marks moved.
    expect(await marksOf(groupId, ben)).toEqual([0, 0]);
  });

  it("answers a retry with the stored message (looked up only after the unique index refused a copy)", async () => {
    const first = await ok<{ sendMessage: { id: string; seq: number; conversationId: string } }>(
      api,
      SEND,
      { i: { recipientId: ben.id, content: "once", clientMessageId: "cmd-r1" } },
      ana,
    );
    const names = await commandsOf(api, async () => {
      const again = await ok<{ sendMessage: { id: string; seq: number; conversationId: string } }>(
        api,
        SEND,
        { i: { recipientId: ben.id, content: "once", clientMessageId: "cmd-r1" } },
        ana,
      );
      expect(again.sendMessage).toEqual(first.sendMessage);
    });
    expect(names).toContain("abortTransaction");
    expect(names.filter((n) => n === "find messages")).toHaveLength(1);
    expect(await api.db.models.DirectMessage.countDocuments({ client_message_id: "cmd-r1" })).toBe(1);
    // The refused copy gave its seq back: the next message takes the one after the stored one.
    const next = await ok<{ sendMessage: { seq: number } }>(api, SEND, { i: { recipientId: ben.id, content: "after" } }, ana);
    expect(next.sendMessage.seq).toBe(first.sendMessage.seq + 1);
  });
});
