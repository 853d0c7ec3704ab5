/**
 * The baseline of `bench:http`: a bare `node:http` handler in the same process that makes the
 * driver calls the API makes for the same two screens (read off the driver's command events:
 * the same finds with the same filters, in the same batches) and writes the same JSON. It checks
 * the access token the same way (jose verify + session lookup) and signs URLs with the API's
 * signer, so the difference left is the GraphQL layer: parsing, validation, armor, execution,
 * resolvers, loaders and mongoose.
 */
import http from "node:http";
import { Types, type mongo } from "mongoose";
import type { Database } from "../src/database.js";
import type { AppServer } from "../src/server.js";

type Doc = mongo.Document;
const oid = (id: unknown): string => (id as Types.ObjectId).toHexString();
const iso = (d: unknown): string => (d as Date).toISOString();
const cursor = (value: unknown[]): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const ENUM: Record<string, string> = { text: "TEXT", image: "IMAGE", audio: "AUDIO", video: "VIDEO", document: "DOCUMENT" };

export async function startPlainServer(db: Database, server: AppServer): Promise<{ port: number; close(): Promise<void> }> {
  const col = (name: string) => db.connection.db!.collection(name);
  const media = server.services.media;

  /** The viewer of a bearer token: the same check as the API (signature, then a live session). */
  async function viewerOf(req: http.IncomingMessage): Promise<Types.ObjectId | null> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const claims = token ? await server.services.tokens.verifyAccess(token) : null;
    if (!claims) return null;
    const session = await col("sessions").findOne(
      { family_id: claims.sessionId, revoked_at: null, expires_at: { $gt: new Date() } },
      { projection: { _id: 1 } },
    );
    return session ? new Types.ObjectId(claims.userId) : null;
  }

  const mediaJson = (m: Doc, viewer: string) => ({
    __typename: "Media",
    id: oid(m._id),
    mimeType: m.mime_type,
    width: m.width ?? null,
    height: m.height ?? null,
    url: media.mediaUrl(m as never, viewer),
    thumbnailUrl: media.thumbnailUrl(m as never, viewer),
  });

  async function history(viewer: Types.ObjectId, conversationId: string, last: number): Promise<unknown> {
    const v = viewer.toHexString();
    const convId = new Types.ObjectId(conversationId);
    const conv = await col("conversations").findOne(
      { _id: convId, "members.user_id": viewer },
      { projection: { kind: 1, last_seq: 1, direct_key: 1, members: { $elemMatch: { user_id: viewer } } } },
    );
    if (!conv) return { errors: [{ message: "Conversation not found", extensions: { code: "NOT_FOUND" } }] };
    const page = await col(conv.kind === "group" ? "group_messages" : "messages")
      .find({ conversation_id: convId, hidden_for: { $ne: viewer } })
      .sort({ seq: -1 })
      .limit(last + 1)
      .toArray();
    const hasPrevious = page.length > last;
    const rows = page.slice(0, last).reverse();
    const senderIds = [...new Set(rows.map((m) => oid(m.sender_id)))].map((id) => new Types.ObjectId(id));
    const attachmentIds = rows.flatMap((m) => (m.attachment?.media_id ? [m.attachment.media_id as Types.ObjectId] : []));
    // The API's loaders batch these two in one tick, then the privacy check, then the pictures.
    const [senders, attachments] = await Promise.all([
      col("users")
        .find({ _id: { $in: senderIds } })
        .toArray(),
      col("media")
        .find({ _id: { $in: attachmentIds }, is_deleted: false })
        .toArray(),
    ]);
    const relations = await col("contacts")
      .find({ contact_id: viewer, status: { $in: ["accepted", "blocked"] }, user_id: { $in: senderIds } }, { projection: { user_id: 1, status: 1 } })
      .toArray();
    const blocked = new Set(relations.filter((r) => r.status === "blocked").map((r) => oid(r.user_id)));
    const contacts = new Set(relations.filter((r) => r.status === "accepted").map((r) => oid(r.user_id)));
    const shown = senders.filter((u) => {
      const rule = u.settings?.profile_picture_visibility ?? "contacts";
      const id = oid(u._id);
      return u.profile_picture && !blocked.has(id) && (rule === "everyone" || (rule === "contacts" && contacts.has(id)));
    });
    const pictures = await col("media")
      .find({ _id: { $in: shown.map((u) => new Types.ObjectId(u.profile_picture as string)) }, is_deleted: false })
      .toArray();
    const byId = new Map([...attachments, ...pictures].map((m) => [oid(m._id), m]));
    const users = new Map(
      senders.map((u) => {
        const pic = shown.includes(u) ? byId.get(u.profile_picture as string) : undefined;
        const json = {
          id: oid(u._id),
          username: u.username,
          fullName: u.full_name ?? null,
          profilePicture: pic ? { id: oid(pic._id), url: media.mediaUrl(pic as never, v), thumbnailUrl: media.thumbnailUrl(pic as never, v) } : null,
        };
        return [json.id, json];
      }),
    );
    const edges = rows.map((m) => {
      const att = m.attachment?.media_id ? byId.get(oid(m.attachment.media_id)) : undefined;
      return {
        cursor: cursor([m.seq, { $oid: oid(m._id) }]),
        node: {
          id: oid(m._id),
          seq: m.seq,
          content: m.is_deleted ? null : m.content,
          messageType: ENUM[m.message_type as string],
          createdAt: iso(m.created_at),
          sender: users.get(oid(m.sender_id)),
          attachment: att ? mediaJson(att, v) : null,
        },
      };
    });
    return { data: { messages: { edges, pageInfo: { hasPreviousPage: hasPrevious, startCursor: edges[0]?.cursor ?? null } } } };
  }

  async function conversations(viewer: Types.ObjectId, first: number): Promise<unknown> {
    const convs = await col("conversations")
      .aggregate([
        {
          $match: {
            "members.user_id": viewer,
            members: { $elemMatch: { user_id: viewer, archived: { $ne: true } } },
            $or: [{ kind: "group" }, { last_seq: { $gt: 0 } }],
          },
        },
        {
          $addFields: {
            viewer_pinned: {
              $cond: [
                {
                  $gt: [
                    {
                      $size: {
                        $filter: {
                          input: "$members",
                          as: "m",
                          cond: { $and: [{ $eq: ["$$m.user_id", viewer] }, { $ne: [{ $ifNull: ["$$m.pinned_at", null] }, null] }] },
                        },
                      },
                    },
                    0,
                  ],
                },
                1,
                0,
              ],
            },
          },
        },
        { $sort: { viewer_pinned: -1, updated_at: -1, _id: -1 } },
        { $limit: first + 1 },
      ])
      .toArray();
    const rows = convs.slice(0, first);
    const lastIds = rows.flatMap((c) => (c.last_message_id ? [c.last_message_id as Types.ObjectId] : []));
    const peerIds = rows.flatMap((c) =>
      c.kind === "direct" ? [(c.members as Doc[]).find((m) => !(m.user_id as Types.ObjectId).equals(viewer))!.user_id as Types.ObjectId] : [],
    );
    // As the API's message loader: it does not know the kind, so it asks both collections.
    const [direct, group, peers] = await Promise.all([
      col("messages")
        .find({ _id: { $in: lastIds } })
        .toArray(),
      col("group_messages")
        .find({ _id: { $in: lastIds } })
        .toArray(),
      col("users")
        .find({ _id: { $in: peerIds } })
        .toArray(),
    ]);
    const messages = new Map([...direct, ...group].map((m) => [oid(m._id), m]));
    const users = new Map(peers.map((u) => [oid(u._id), u]));
    const edges = rows.map((c) => {
      const me = (c.members as Doc[]).find((m) => (m.user_id as Types.ObjectId).equals(viewer))!;
      const last = c.last_message_id ? messages.get(oid(c.last_message_id)) : undefined;
      const peerId = c.kind === "direct" ? oid((c.members as Doc[]).find((m) => !(m.user_id as Types.ObjectId).equals(viewer))!.user_id) : null;
      const peer = peerId ? users.get(peerId) : undefined;
      return {
        cursor: cursor([c.viewer_pinned, { $date: iso(c.updated_at) }, { $oid: oid(c._id) }]),
        node: {
          id: oid(c._id),
          unreadCount: Math.max(0, (c.last_seq as number) - ((me.read_seq as number) ?? 0)),
          lastSeq: c.last_seq,
          updatedAt: iso(c.updated_at),
          lastMessage: last ? { id: oid(last._id), seq: last.seq, content: last.is_deleted ? null : last.content, createdAt: iso(last.created_at) } : null,
          ...(peer ? { peer: { id: oid(peer._id), username: peer.username } } : {}),
        },
      };
    });
    return { data: { conversations: { edges, pageInfo: { hasNextPage: convs.length > first, endCursor: edges.at(-1)?.cursor ?? null } } } };
  }

  const httpServer = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://plain");
      const viewer = await viewerOf(req);
      let body: unknown;
      if (!viewer) body = { errors: [{ message: "Not authenticated", extensions: { code: "UNAUTHENTICATED" } }] };
      else if (url.pathname === "/history") body = await history(viewer, url.searchParams.get("c") ?? "", Number(url.searchParams.get("n") ?? 50));
      else body = await conversations(viewer, Number(url.searchParams.get("n") ?? 50));
      const text = `${JSON.stringify(body)}\n`; // as Apollo writes it
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  const port = await new Promise<number>((resolve) => httpServer.listen(0, "127.0.0.1", () => resolve((httpServer.address() as { port: number }).port)));
  return {
    port,
    close: () => new Promise<void>((resolve) => httpServer.close(() => resolve())),
  };
}
