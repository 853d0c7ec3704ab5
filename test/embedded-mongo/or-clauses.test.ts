/**
 * A top-level `$or` of many clauses sharing one equality field (what `changes(since)` sends:
 * per conversation a seq range and a rev range). The server tests a document only against the
 * clauses for the values it holds in that field (query.ts orByEquality); the answers here are
 * computed in JS from the documents, so a document tested against another value's clauses, or
 * an array field's second value left out, or a collation-equal value not grouped together,
 * fails them.
 */
import { Long, ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { useTestDb, type AnyDoc } from "../helpers/mongo.js";

describe("top-level $or grouped by an equality field", () => {
  const t = useTestDb("or_clauses");

  it("answers per-conversation seq and rev ranges exactly, indexed or not", async () => {
    const c = t.db.collection<AnyDoc>("messages");
    await c.createIndex({ conversation_id: 1, seq: 1 }, { unique: true });
    await c.createIndex({ conversation_id: 1, rev: 1 });
    const convs = Array.from({ length: 40 }, () => new ObjectId());
    const docs = convs.flatMap((conversation_id, i) =>
      Array.from({ length: 12 }, (_, k) => ({ conversation_id, seq: k + 1, rev: ((k * 7 + i * 3) % 30) + 1, hidden: k % 5 === 0 })),
    );
    await c.insertMany(docs);
    // Every other conversation: its new messages after `from`, and its older ones changed after rev `r`.
    type Window = { id: ObjectId; from: number; r: number };
    const windows: Window[] = convs.filter((_, i) => i % 2 === 0).map((id, i) => ({ id, from: i % 12, r: (i * 5) % 30 }));
    const clauses = windows.flatMap((w) => [
      { conversation_id: w.id, seq: { $gt: w.from, $lte: 12 } },
      { conversation_id: w.id, rev: { $gt: w.r }, seq: { $lte: w.from } },
    ]);
    const expected = (extra: (d: (typeof docs)[number]) => boolean) =>
      docs
        .filter((d) => extra(d) && windows.some((w) => w.id.equals(d.conversation_id) && (d.seq > w.from || d.rev > w.r)))
        .map((d) => `${d.conversation_id.toHexString()}:${d.seq}`)
        .sort();
    const keys = (found: AnyDoc[]) => found.map((d) => `${(d.conversation_id as ObjectId).toHexString()}:${d.seq as number}`).sort();

    expect(keys(await c.find({ $or: clauses }).toArray())).toEqual(expected(() => true));
    // A scan tests the same clauses as the index union does.
    expect(keys(await c.find({ $or: clauses }).hint({ $natural: 1 }).toArray())).toEqual(expected(() => true));
    // Other top-level conditions beside the $or still apply.
    expect(keys(await c.find({ hidden: false, $or: clauses }).toArray())).toEqual(expected((d) => !d.hidden));
    expect(expected(() => true).length).toBeGreaterThan(0);
  });

  it("tests every value of an array field, numbers equal across types, strings under the collation", async () => {
    const c = t.db.collection<AnyDoc>("tags");
    await c.insertMany([
      { _id: 1, tag: ["a", "b"], n: 1 },
      { _id: 2, tag: "b", n: 5 },
      { _id: 3, tag: "c", n: 1 },
      { _id: 4, tag: [], n: 1 },
      { _id: 5, n: 1 },
      { _id: 6, tag: "B", n: 9 },
      { _id: 7, num: Long.fromNumber(3), n: 2 },
    ]);
    const ids = (found: AnyDoc[]) => found.map((d) => d._id as number).sort((x, y) => x - y);
    // _id 1 matches only through its second value; _id 2's value has a clause that does not hold.
    const byTag = [
      { tag: "a", n: 2 },
      { tag: "b", n: 1 },
      { tag: "c", n: { $gt: 0 } },
      { tag: "d", n: 1 },
    ];
    expect(ids(await c.find({ $or: byTag }).toArray())).toEqual([1, 3]);
    // Under a case-insensitive collation "B" is tested against the clauses of "b"; without, not.
    const byCase = [
      { tag: "a", n: 0 },
      { tag: "b", n: { $gt: 0 } },
      { tag: "c", n: 0 },
      { tag: "d", n: 0 },
    ];
    expect(ids(await c.find({ $or: byCase }).toArray())).toEqual([1, 2]);
    expect(ids(await c.find({ $or: byCase }, { collation: { locale: "en", strength: 2 } }).toArray())).toEqual([1, 2, 6]);
    // 3, 3.0 and Long 3 are one value.
    const byNumber = [
      { num: 3, n: 2 },
      { num: 4, n: 2 },
      { num: 5, n: 2 },
      { num: 6, n: 2 },
    ];
    expect(ids(await c.find({ $or: byNumber }).toArray())).toEqual([7]);
  });
});
