/**
 * The fast path for `$set` pipeline updates (src/embedded-mongo/pipeline-fast.ts) against mingo,
 * the general path it stands in for: every supported shape must give mingo's document and
 * "changed" answer, and every shape it does not know must be left to mingo (null, document
 * untouched). Then the send's allocation pipeline through the wire, checked against values
 * computed here (so it also holds against a real MongoDB with MONGODB_URI).
 */
import { updateOne as mingoUpdateOne } from "mingo/updater";
import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { mingoOptions } from "../../src/embedded-mongo/operators.js";
import { applyFastPipeline } from "../../src/embedded-mongo/pipeline-fast.js";
import { cloneDoc, keyOf, type Doc } from "../../src/embedded-mongo/values.js";
import { useTestDb, type AnyDoc } from "../helpers/mongo.js";

function viaMingo(doc: Doc, stages: Doc[]): { doc: Doc; changed: boolean } {
  const docs = [cloneDoc(doc)];
  const res = mingoUpdateOne(docs, {}, stages as never, {}, mingoOptions(null));
  return { doc: docs[0], changed: res.modifiedCount > 0 };
}

function viaFast(doc: Doc, stages: Doc[]): { doc: Doc; changed: boolean | null } {
  const target = cloneDoc(doc);
  return { doc: target, changed: applyFastPipeline(target, stages) };
}

const alice = new ObjectId();
const bob = new ObjectId();
const carol = new ObjectId();
const lastId = new ObjectId();

function conversation(members: number): Doc {
  const ids = [alice, bob, carol, ...Array.from({ length: members - 3 }, () => new ObjectId())];
  return {
    _id: new ObjectId(),
    kind: "group",
    last_seq: 41,
    rev: 50,
    last_message_id: null,
    members: ids.map((user_id, i) => ({ user_id, read_seq: i % 7, delivered_seq: i % 9, shared_read_seq: i % 5, joined_at: new Date(1_700_000_000_000 + i) })),
  };
}

/** The shape MessageService.allocate sends: seqs for `senders` in order, each one's marks to its last. */
function allocation(senders: Array<{ id: ObjectId; shares: boolean }>, opts: { rev?: unknown } = {}): Doc[] {
  const last = new Map<string, { id: ObjectId; shares: boolean; offset: number }>();
  senders.forEach((s, i) => last.set(s.id.toHexString(), { ...s, offset: i + 1 }));
  const branches = [...last.values()].map(({ id, shares, offset }) => {
    const seq = { $add: ["$last_seq", offset] };
    const marks: Doc = { read_seq: { $max: ["$$m.read_seq", seq] }, delivered_seq: { $max: ["$$m.delivered_seq", seq] } };
    if (shares) marks.shared_read_seq = { $max: ["$$m.shared_read_seq", seq] };
    return { case: { $eq: ["$$m.user_id", id] }, then: { $mergeObjects: ["$$m", marks] } };
  });
  return [
    {
      $set: {
        last_seq: { $add: ["$last_seq", senders.length] },
        rev: opts.rev ?? { $add: [{ $ifNull: ["$rev", 0] }, senders.length] },
        last_message_id: lastId,
        members: { $map: { input: "$members", as: "m", in: { $switch: { branches, default: "$$m" } } } },
      },
    },
  ];
}

describe("pipeline updates: the fast path gives mingo's answer", () => {
  const supported: Array<[string, Doc, Doc[]]> = [
    ["one sender, read receipts shared", conversation(40), allocation([{ id: bob, shares: true }])],
    ["one sender, read receipts not shared", conversation(40), allocation([{ id: bob, shares: false }])],
    [
      "a batch of three sends by two senders",
      conversation(40),
      allocation([
        { id: bob, shares: true },
        { id: carol, shares: false },
        { id: bob, shares: true },
      ]),
    ],
    ["a sender who is not a member (nothing of members changes)", conversation(10), allocation([{ id: new ObjectId(), shares: true }])],
    [
      "rev missing ($ifNull)",
      (() => {
        const d = conversation(5);
        delete d.rev;
        return d;
      })(),
      allocation([{ id: alice, shares: true }]),
    ],
    [
      "a mark null on the sender ($max ignores it)",
      (() => {
        const d = conversation(5);
        (d.members as Doc[])[0].delivered_seq = null;
        return d;
      })(),
      allocation([{ id: alice, shares: true }]),
    ],
    ["members empty", { ...conversation(3), members: [] }, allocation([{ id: alice, shares: true }])],
    [
      "two stages, the second reading the first",
      conversation(4),
      [{ $set: { last_seq: { $add: ["$last_seq", 1] } } }, { $addFields: { rev: { $add: ["$last_seq", 100] }, n: { $literal: "$x" } } }],
    ],
    ["a no-op ($max below the mark, same id)", { _id: 1, a: 5, b: lastId }, [{ $set: { a: { $max: ["$a", 3] }, b: lastId } }]],
    ["a new field appended", { _id: 1, a: 5 }, [{ $set: { z: { $add: ["$a", 1] }, y: "text", x: [1, "$a"] } }]],
    ["$add with a missing operand gives null", { _id: 1, a: 5 }, [{ $set: { a: { $add: ["$a", "$nope"] } } }]],
    [
      "$eq on strings and numbers",
      { _id: 1, s: "x", n: 2, list: [{ s: "x" }, { s: "y" }] },
      [
        {
          $set: {
            list: {
              $map: {
                input: "$list",
                in: {
                  $switch: {
                    branches: [{ case: { $eq: ["$$this.s", "$s"] }, then: { $mergeObjects: ["$$this", { hit: { $eq: ["$n", 2] } }] } }],
                    default: "$$this",
                  },
                },
              },
            },
          },
        },
      ],
    ],
  ];
  for (const [name, doc, stages] of supported) {
    it(name, () => {
      const fast = viaFast(doc, stages);
      const ref = viaMingo(doc, stages);
      expect(fast.changed).not.toBeNull();
      expect(keyOf(fast.doc)).toBe(keyOf(ref.doc));
      expect(fast.changed).toBe(ref.changed);
    });
  }

  it("a mark missing on the sender: $max ignores it, as MongoDB documents (mingo answers null there)", () => {
    const doc = conversation(5);
    delete (doc.members as Doc[])[0].read_seq;
    const fast = viaFast(doc, allocation([{ id: alice, shares: true }]));
    expect(fast.changed).toBe(true);
    expect((fast.doc.members as Doc[])[0].read_seq).toBe(42);
  });

  const unsupported: Array<[string, Doc, Doc[]]> = [
    ["a $project stage", conversation(3), [{ $project: { kind: 1 } }]],
    ["a dotted field", conversation(3), [{ $set: { "a.b": 1 } }]],
    ["an embedded document literal (merges in $addFields)", { _id: 1, a: { x: 1 } }, [{ $set: { a: { y: 2 } } }]],
    ["an unknown operator", conversation(3), [{ $set: { last_seq: { $multiply: ["$last_seq", 2] } } }]],
    ["$eq of a missing field and null", { _id: 1, a: [{}] }, [{ $set: { a: { $map: { input: "$a", in: { $eq: ["$$this.x", null] } } } } }]],
    ["$max over strings", { _id: 1, a: "b" }, [{ $set: { a: { $max: ["$a", "c"] } } }]],
    ["a path through an array", { _id: 1, a: [{ b: 1 }] }, [{ $set: { c: "$a.b" } }]],
    ["$$NOW", { _id: 1 }, [{ $set: { t: "$$NOW" } }]],
    ["a $switch without default and no match", { _id: 1, a: 1 }, [{ $set: { b: { $switch: { branches: [{ case: { $eq: ["$a", 2] }, then: 1 }] } } } }]],
  ];
  for (const [name, doc, stages] of unsupported) {
    it(`leaves to mingo: ${name}`, () => {
      const fast = viaFast(doc, stages);
      expect(fast.changed).toBeNull();
      expect(keyOf(fast.doc)).toBe(keyOf(doc));
    });
  }
});

describe("the send's allocation pipeline through the wire", () => {
  const t = useTestDb("pipeline_fast");

  it("allocates seqs and moves only the senders' marks, in a transaction too", async () => {
    const c = t.db.collection<AnyDoc>("conversations");
    const doc = conversation(1024);
    // A mark never set: $max ignores the missing value (MongoDB's rule, checked here against a real server too).
    delete (doc.members as Doc[])[2].read_seq;
    await c.insertOne(doc);
    const members = doc.members as Doc[];
    const session = t.client.startSession();
    let after: AnyDoc | null = null;
    try {
      await session.withTransaction(async () => {
        after = await c.findOneAndUpdate(
          { _id: doc._id as ObjectId },
          allocation([
            { id: bob, shares: true },
            { id: carol, shares: false },
          ]),
          {
            returnDocument: "after",
            session,
          },
        );
      });
    } finally {
      await session.endSession();
    }
    const stored = await c.findOne({ _id: doc._id as ObjectId });
    for (const got of [after!, stored!]) {
      expect(got.last_seq).toBe(43);
      expect(got.rev).toBe(52);
      expect((got.last_message_id as ObjectId).equals(lastId)).toBe(true);
      const out = got.members as Doc[];
      expect(out).toHaveLength(1024);
      // bob (index 1) sent seq 42, carol (index 2) seq 43 without sharing her read mark.
      expect(out[1]).toMatchObject({ read_seq: 42, delivered_seq: 42, shared_read_seq: 42 });
      expect(out[2]).toMatchObject({ read_seq: 43, delivered_seq: 43, shared_read_seq: members[2].shared_read_seq });
      // Everyone else exactly as before, field order included.
      for (const i of [0, 3, 500, 1023]) expect(keyOf(out[i])).toBe(keyOf(members[i]));
    }
  });
});
