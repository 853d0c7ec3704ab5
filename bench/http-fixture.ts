/**
 * The data `bench:http` reads: a viewer with HISTORY_MESSAGES image messages from one peer
 * (sender with a profile picture, each message with a Media attachment) and CONVERSATIONS
 * direct conversations, each with a last message and unread messages. Messages are sent through
 * the service (seqs, watermarks and the conversation documents as in production); attachments
 * and pictures are then pointed at Media documents written straight to the database, since the
 * bench measures reads, not uploads.
 */
import { Types } from "mongoose";
import type { Database } from "../src/database.js";
import type { AppServer } from "../src/server.js";
import { benchUsers } from "./common.js";

export interface Fixture {
  viewerId: string;
  viewerToken: string;
  /** The conversation with HISTORY_MESSAGES messages. */
  historyId: string;
  users: Array<{ _id: Types.ObjectId }>;
}

function mediaDoc(uploader: Types.ObjectId, i: number) {
  return {
    _id: new Types.ObjectId(),
    filename: `bench-${uploader.toHexString()}-${i}.jpg`,
    original_filename: `photo-${i}.jpg`,
    file_size: 12_345,
    mime_type: "image/jpeg",
    uploader_id: uploader,
    media_type: "image",
    width: 1200,
    height: 800,
    optimized: true,
  };
}

export async function buildFixture(db: Database, server: AppServer, historyMessages: number, conversations: number): Promise<Fixture> {
  const { users, tokens } = await benchUsers(db, server.services.tokens, "http", conversations + 1);
  const viewer = users[0];
  const peers = users.slice(1);
  // Everyone shows a profile picture to everyone: the picture is resolved, not hidden.
  const pictures = users.map((u) => mediaDoc(u._id, 0));
  await db.models.Media.insertMany(pictures);
  await Promise.all(
    users.map((u, i) =>
      db.models.User.updateOne({ _id: u._id }, { $set: { profile_picture: pictures[i]._id.toHexString(), "settings.profile_picture_visibility": "everyone" } }),
    ),
  );

  const messages = server.services.messages;
  // History: the first peer writes HISTORY_MESSAGES messages to the viewer.
  for (let k = 0; k < historyMessages; k++) {
    await messages.sendDirect(peers[0]._id.toHexString(), { recipientId: viewer._id.toHexString(), content: `history ${k}`, clientMessageId: `h-${k}` });
  }
  // Every other peer: two messages to the viewer and one answer (unread 2 or 1 either way).
  for (let i = 1; i < peers.length; i++) {
    await messages.sendDirect(peers[i]._id.toHexString(), { recipientId: viewer._id.toHexString(), content: `hello ${i}`, clientMessageId: `a-${i}` });
    await messages.sendDirect(viewer._id.toHexString(), { recipientId: peers[i]._id.toHexString(), content: `hi ${i}`, clientMessageId: `b-${i}` });
    await messages.sendDirect(peers[i]._id.toHexString(), { recipientId: viewer._id.toHexString(), content: `news ${i}`, clientMessageId: `c-${i}` });
  }
  // Every message sent to the viewer carries an image attachment it may see.
  const toViewer = await db.models.DirectMessage.find({ recipient_id: viewer._id }, { _id: 1, sender_id: 1 }).lean();
  const attachments = toViewer.map((m, i) => ({ ...mediaDoc(m.sender_id, i + 1), message_id: m._id }));
  await db.models.Media.insertMany(attachments);
  await db.connection.collection("messages").bulkWrite(
    toViewer.map((m, i) => ({
      updateOne: { filter: { _id: m._id }, update: { $set: { message_type: "image", attachment: { media_id: attachments[i]._id } } } },
    })),
  );
  const history = await db.models.DirectMessage.findOne({ sender_id: peers[0]._id }, { conversation_id: 1 }).lean();
  return { viewerId: viewer._id.toHexString(), viewerToken: tokens[0], historyId: history!.conversation_id.toHexString(), users };
}
