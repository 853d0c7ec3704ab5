/**
 * A pipeline update the fast path takes works on a shallow copy and stores values that share
 * their unchanged parts (the members a `$map` passes through) with the version before; a
 * transaction's commit stores the transaction's own final version (Collection.install). Both
 * rest on "a stored document is never changed in place". Here every version a change stream
 * kept (pre-images, read after all the writes) must still be exactly what was stored at its
 * time, through the writes that touch the shared parts afterwards; and a commit still answers
 * for unique indexes and the validator against what committed meanwhile.
 */
import { MongoClient, ObjectId, type ChangeStreamDocument, type Db } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmbeddedMongo } from "../../src/embedded-mongo/index.js";
import { keyOf } from "../../src/embedded-mongo/values.js";
import { startEmbeddedClient, stopEmbeddedClient, type AnyDoc } from "../helpers/mongo.js";

type Event = ChangeStreamDocument<AnyDoc> & { fullDocumentBeforeChange?: AnyDoc; updateDescription?: { updatedFields: AnyDoc; removedFields: string[] } };

/** The send's allocation shape (MessageService.allocate): one seq for `sender`, its marks moved to it. */
function allocation(sender: ObjectId): AnyDoc[] {
  const seq = { $add: ["$last_seq", 1] };
  const marks = { read_seq: { $max: ["$$m.read_seq", seq] }, delivered_seq: { $max: ["$$m.delivered_seq", seq] } };
  return [
    {
      $set: {
        last_seq: seq,
        members: {
          $map: {
            input: "$members",
            as: "m",
            in: { $switch: { branches: [{ case: { $eq: ["$$m.user_id", sender] }, then: { $mergeObjects: ["$$m", marks] } }], default: "$$m" } },
          },
        },
      },
    },
  ];
}

describe("versions that share unchanged parts stay as they were stored", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let db: Db;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient()));
  afterAll(() => stopEmbeddedClient(server, client));
  beforeEach(() => {
    server.reset();
    db = client.db("shared");
  });

  it("pre-images read after later writes (arrayFilters, nested $set, a transaction, a replacement) are each version as stored", async () => {
    await db.createCollection("conv", { changeStreamPreAndPostImages: { enabled: true } });
    const c = db.collection<AnyDoc>("conv");
    const users = Array.from({ length: 6 }, () => new ObjectId());
    const _id = new ObjectId();
    await c.insertOne({ _id, last_seq: 0, members: users.map((user_id) => ({ user_id, read_seq: 0, delivered_seq: 0, flags: { muted: false } })) });
    const cs = c.watch([], { fullDocumentBeforeChange: "required", maxAwaitTimeMS: 200 });
    expect(await cs.tryNext()).toBeNull();
    const versions: AnyDoc[] = [(await c.findOne({ _id }))!];
    const stored = async (): Promise<void> => void versions.push((await c.findOne({ _id }))!);

    // 1. The fast path: members 0 and 2..5 pass through (shared with version 0).
    await c.updateOne({ _id }, allocation(users[1]));
    await stored();
    // 2. A passed-through member changed by an array filter, a nested field of another.
    await c.updateOne({ _id }, { $max: { "members.$[u].read_seq": 7 } }, { arrayFilters: [{ "u.user_id": users[3] }] });
    await stored();
    await c.updateOne({ _id }, { $set: { "members.4.flags.muted": true } });
    await stored();
    // 3. In a transaction: the allocation, then a nested change of a member it passed through.
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await c.updateOne({ _id }, allocation(users[3]), { session });
        await c.updateOne({ _id }, { $set: { "members.0.flags.muted": true } }, { session });
      });
    } finally {
      await session.endSession();
    }
    await stored();
    // 4. An operator update on top of the committed version, then 5. a replacement in a transaction.
    await c.updateOne({ _id }, { $inc: { "members.5.read_seq": 1 }, $set: { "members.1.flags.muted": true } });
    await stored();
    const s2 = client.startSession();
    try {
      await s2.withTransaction(async () => {
        await c.replaceOne({ _id }, { last_seq: 99, members: [] }, { session: s2 });
      });
    } finally {
      await s2.endSession();
    }
    await stored();

    const events: Event[] = [];
    while (events.length < 6) events.push((await cs.next()) as Event);
    await cs.close();
    expect(events.map((e) => e.operationType)).toEqual(["update", "update", "update", "update", "update", "replace"]);
    events.forEach((e, i) => expect(keyOf(e.fullDocumentBeforeChange), `pre-image of write ${i + 1}`).toBe(keyOf(versions[i])));
    // What each update changed, as MongoDB describes it (the transaction's too).
    expect(Object.keys(events[0].updateDescription!.updatedFields).sort()).toEqual(["last_seq", "members"]);
    expect(Object.keys(events[3].updateDescription!.updatedFields).sort()).toEqual(["last_seq", "members"]);
    // Every version as the server has it now, read once more: none was changed by the writes after it.
    const members = versions.map((v) => v.members as AnyDoc[]);
    expect(members[0][3]).toMatchObject({ read_seq: 0, flags: { muted: false } });
    expect(members[1][1]).toMatchObject({ read_seq: 1, delivered_seq: 1 });
    expect(members[1][3]).toMatchObject({ read_seq: 0 });
    expect(members[2][3]).toMatchObject({ read_seq: 7 });
    expect(members[2][4].flags).toEqual({ muted: false });
    expect(members[3][4].flags).toEqual({ muted: true });
    expect(members[3][0].flags).toEqual({ muted: false });
    expect(members[4][3]).toMatchObject({ read_seq: 7, delivered_seq: 2 });
    expect(members[4][0].flags).toEqual({ muted: true });
    expect(members[4][1].flags).toEqual({ muted: false });
    expect(members[5][1].flags).toEqual({ muted: true });
    expect(members[5][5].read_seq).toBe(1);
    expect(versions[6]).toEqual({ _id, last_seq: 99, members: [] });
  });

  it("a commit still refuses a unique key that another write took meanwhile, and stores nothing of the transaction", async () => {
    const c = db.collection<AnyDoc>("users");
    await c.createIndex({ email: 1 }, { unique: true });
    const _id = new ObjectId();
    await c.insertOne({ _id, email: "a@x", n: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await c.updateOne({ _id }, { $set: { email: "b@x" }, $inc: { n: 1 } }, { session });
      await c.insertOne({ email: "b@x" }); // outside, before the commit
      // A write conflict (retryable) or a duplicate key: either way the transaction is not stored.
      const err = (await session.commitTransaction().catch((e: unknown) => e)) as { code?: number };
      expect([112, 11000]).toContain(err?.code);
    } finally {
      await session.endSession();
    }
    expect(await c.findOne({ _id })).toEqual({ _id, email: "a@x", n: 0 });
  });

  it("a commit still applies the validator as it is at commit time", async () => {
    await db.createCollection("docs");
    const c = db.collection<AnyDoc>("docs");
    const _id = new ObjectId();
    await c.insertOne({ _id, n: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await c.updateOne({ _id }, { $set: { n: "one" } }, { session });
      await expect(db.command({ collMod: "docs", validator: { $jsonSchema: { properties: { n: { bsonType: "int" } } } } })).resolves.toMatchObject({ ok: 1 });
      await session.commitTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
    const after = await c.findOne({ _id });
    // Either the commit was refused (validator or catalog change) or it stored a valid document.
    expect(after).toEqual({ _id, n: 1 });
  });
});

describe("index keys of documents with many keys (cached per stored version)", () => {
  let server: EmbeddedMongo;
  let client: MongoClient;

  beforeAll(async () => ({ server, client } = await startEmbeddedClient()));
  afterAll(() => stopEmbeddedClient(server, client));

  it("a multikey index answers for every version's members: fast-path updates, array filters, transactions, deletes", async () => {
    const c = client.db("keys").collection<AnyDoc>("conv");
    await c.createIndex({ "members.user_id": 1 });
    const users = Array.from({ length: 40 }, () => new ObjectId());
    const _id = new ObjectId();
    await c.insertOne({ _id, last_seq: 0, members: users.map((user_id) => ({ user_id, read_seq: 0 })) });
    const holders = async (u: ObjectId): Promise<number> => c.countDocuments({ "members.user_id": u });
    const replace = (from: ObjectId, to: ObjectId): AnyDoc[] => [
      {
        $set: {
          members: {
            $map: {
              input: "$members",
              as: "m",
              in: { $switch: { branches: [{ case: { $eq: ["$$m.user_id", from] }, then: { $mergeObjects: ["$$m", { user_id: to }] } }], default: "$$m" } },
            },
          },
        },
      },
    ];
    const a = new ObjectId();
    const b = new ObjectId();
    // A fast-path pipeline update replaces one member's id.
    await c.updateOne({ _id }, replace(users[7], a));
    expect([await holders(users[7]), await holders(a), await holders(users[8])]).toEqual([0, 1, 1]);
    // The allocation (keys unchanged), then an array filter that changes another id.
    await c.updateOne({ _id }, allocation(users[3]));
    await c.updateOne({ _id }, { $set: { "members.$[x].user_id": b } }, { arrayFilters: [{ "x.user_id": users[9] }] });
    expect([await holders(users[9]), await holders(b), await holders(a)]).toEqual([0, 1, 1]);
    // In a transaction, committed: the commit installs the view's version.
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await c.updateOne({ _id }, replace(a, users[7]), { session });
        await c.updateOne({ _id }, allocation(users[4]), { session });
      });
    } finally {
      await session.endSession();
    }
    expect([await holders(a), await holders(users[7]), await holders(b)]).toEqual([0, 1, 1]);
    // Aborted: nothing of it in the index.
    const s2 = client.startSession();
    try {
      s2.startTransaction();
      await c.updateOne({ _id }, replace(b, a), { session: s2 });
      await s2.abortTransaction();
    } finally {
      await s2.endSession();
    }
    expect([await holders(a), await holders(b)]).toEqual([0, 1]);
    await c.deleteOne({ _id });
    expect([await holders(b), await holders(users[0])]).toEqual([0, 0]);
  });
});
