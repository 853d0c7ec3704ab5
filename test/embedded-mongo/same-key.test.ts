/**
 * `sameKey(a, b)` (src/embedded-mongo/values.ts) is `keyOf(a) === keyOf(b)` without the strings:
 * transaction commits, no-op detection and change events compare documents with it. Every pair
 * of a varied set of values must get the same answer from both.
 */
import { Binary, Decimal128, Long, ObjectId, Timestamp } from "bson";
import { describe, expect, it } from "vitest";
import { keyOf, sameKey } from "../../src/embedded-mongo/values.js";

describe("sameKey agrees with keyOf", () => {
  const id = new ObjectId();
  const values: unknown[] = [
    null,
    undefined,
    0,
    -0,
    1,
    1.5,
    NaN,
    Long.fromNumber(1),
    Decimal128.fromString("1"),
    Decimal128.fromString("1.5"),
    "1",
    "",
    "a",
    true,
    false,
    id,
    new ObjectId(id.toHexString()),
    new ObjectId(),
    new Date(5),
    new Date(5),
    new Date(6),
    [],
    [1, 2],
    [1, 2],
    [2, 1],
    [1, [2]],
    { a: 1, b: 2 },
    { a: 1, b: 2 },
    { b: 2, a: 1 },
    { a: 1 },
    { a: 1, b: undefined },
    { a: 1, b: null },
    { a: [{ x: id }] },
    { a: [{ x: new ObjectId(id.toHexString()) }] },
    new Binary(Buffer.from("ab")),
    new Binary(Buffer.from("ab")),
    /x/i,
    /x/i,
    new Timestamp({ t: 1, i: 2 }),
  ];

  it("for every pair", () => {
    let equalPairs = 0;
    for (const a of values) {
      for (const b of values) {
        const expected = keyOf(a) === keyOf(b);
        if (expected) equalPairs++;
        expect([a, b, sameKey(a, b)]).toEqual([a, b, expected]);
      }
    }
    // Not only the trivial diagonal: numbers across types, equal ids, dates, documents.
    expect(equalPairs).toBeGreaterThan(values.length + 10);
  });
});
