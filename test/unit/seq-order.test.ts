/** The ordering decisions of a message stream (seq-order.ts): release, drop, gaps, fills, holes; time is a parameter. */
import { describe, expect, it } from "vitest";
import { FILL_FIRST_DELAY_MS, FILL_MAX_DELAY_MS, SeqOrder, fillDelayMs } from "../../src/modules/message/seq-order.js";

/** Items are `{ seq, from }` so a test can tell a live item from a database one of the same seq. */
type Item = { seq: number; from: "live" | "db" };
const live = (seq: number): Item => ({ seq, from: "live" });
const db = (...seqs: number[]): Item[] => seqs.map((seq) => ({ seq, from: "db" }));

function stream(last: number, options: { replaying?: boolean; holeMs?: number } = {}) {
  const released: Item[] = [];
  const order = new SeqOrder<Item>((i) => i.seq, last, { ...options, release: (i) => released.push(i) });
  return { order, released, seqs: () => released.map((i) => i.seq) };
}

describe("SeqOrder", () => {
  it("releases items in order as they come, each at once", () => {
    const s = stream(0);
    expect(s.order.offer(live(1))).toBe(true);
    expect(s.seqs()).toEqual([1]);
    s.order.offer(live(2));
    s.order.offer(live(3));
    expect(s.seqs()).toEqual([1, 2, 3]);
    expect(s.order.last).toBe(3);
    expect(s.order.gap()).toBeNull();
  });

  it("drops a seq at or below the last released (a retried publish), and a second copy of a held one is not released twice", () => {
    const s = stream(5);
    expect(s.order.offer(live(5))).toBe(false);
    expect(s.order.offer(live(3))).toBe(false);
    s.order.offer(live(6));
    expect(s.order.offer(live(6))).toBe(false);
    s.order.offer(live(8));
    s.order.offer(live(8));
    s.order.offer(live(7));
    expect(s.seqs()).toEqual([6, 7, 8]);
  });

  it("holds an item that came early, reports the gap before it, and releases both once the missing one comes", () => {
    const s = stream(10);
    s.order.offer(live(13));
    expect(s.seqs()).toEqual([]);
    expect(s.order.gap()).toEqual({ from: 11, to: 12 });
    s.order.offer(live(12));
    expect(s.seqs()).toEqual([]);
    expect(s.order.gap()).toEqual({ from: 11, to: 11 });
    s.order.offer(live(11));
    expect(s.seqs()).toEqual([11, 12, 13]);
    expect(s.order.gap()).toBeNull();
  });

  it("reports the first of several gaps", () => {
    const s = stream(0);
    s.order.offer(live(3));
    s.order.offer(live(7));
    expect(s.order.gap()).toEqual({ from: 1, to: 2 });
    s.order.merge(db(1, 2));
    expect(s.seqs()).toEqual([1, 2, 3]);
    expect(s.order.gap()).toEqual({ from: 4, to: 6 });
  });

  it("reports seqs known only from the database's last seq (a lost event) as a gap", () => {
    const s = stream(4);
    expect(s.order.committed(4)).toBe(false);
    expect(s.order.gap()).toBeNull();
    expect(s.order.committed(6)).toBe(true);
    expect(s.order.committed(5)).toBe(false);
    expect(s.order.gap()).toEqual({ from: 5, to: 6 });
    s.order.merge(db(5, 6));
    expect(s.seqs()).toEqual([5, 6]);
    expect(s.order.gap()).toBeNull();
  });

  it("merges a fill with held items: a held live item is kept, released ones are dropped, the rest released in order", () => {
    const s = stream(0);
    s.order.offer(live(1));
    s.order.offer(live(4));
    // The database read covers 1 (already released), 2-3 (missing), 4 (held) and 5 (new), out of order.
    s.order.merge(db(5, 3, 1, 4, 2));
    expect(s.released).toEqual([live(1), ...db(2, 3), live(4), ...db(5)]);
    expect(s.order.gap()).toBeNull();
    // A later fill reading the same pages again changes nothing.
    s.order.merge(db(2, 3, 4, 5));
    expect(s.seqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it("a fill that finds nothing new leaves the gap open", () => {
    const s = stream(0);
    s.order.offer(live(3));
    s.order.merge(db(1));
    expect(s.seqs()).toEqual([1]);
    expect(s.order.gap()).toEqual({ from: 2, to: 2 });
    s.order.merge([]);
    expect(s.order.gap()).toEqual({ from: 2, to: 2 });
  });

  it("holds live items during a replay, releases the database's pages in order, then continues live at the boundary", () => {
    const s = stream(2, { replaying: true });
    // Live events that arrive while the database is read: one the replay will also read, one past it.
    s.order.offer(live(4));
    s.order.offer(live(6));
    expect(s.seqs()).toEqual([]);
    expect(s.order.replaying).toBe(true);
    s.order.merge(db(3, 4));
    expect(s.released).toEqual([...db(3), live(4)]);
    s.order.merge(db(5));
    s.order.endReplay();
    expect(s.order.replaying).toBe(false);
    expect(s.seqs()).toEqual([3, 4, 5, 6]);
    // Live from here: a repeat of the boundary is dropped, the next is released at once.
    expect(s.order.offer(live(6))).toBe(false);
    s.order.offer(live(7));
    expect(s.seqs()).toEqual([3, 4, 5, 6, 7]);
  });

  it("releases nothing live before the replay ends, even the next seq", () => {
    const s = stream(0, { replaying: true });
    s.order.offer(live(1));
    expect(s.seqs()).toEqual([]);
    s.order.endReplay();
    expect(s.seqs()).toEqual([1]);
  });

  describe("standalone hole (a seq that may never be stored)", () => {
    it("passes a hole before a held item once it has been open holeMs, not before", () => {
      const s = stream(0, { holeMs: 1000 });
      s.order.offer(live(3));
      expect(s.order.passHole(5_000)).toBe(false);
      expect(s.order.passHole(5_999)).toBe(false);
      expect(s.seqs()).toEqual([]);
      expect(s.order.passHole(6_000)).toBe(true);
      expect(s.seqs()).toEqual([3]);
      expect(s.order.gap()).toBeNull();
    });

    it("passes a hole known only from the database's last seq by giving up on it", () => {
      const s = stream(7, { holeMs: 1000 });
      s.order.committed(9);
      s.order.passHole(0);
      expect(s.order.passHole(1000)).toBe(true);
      expect(s.order.gap()).toBeNull();
      expect(s.order.last).toBe(7);
      // A later message shows the same seqs missing again: they wait their own time, then are passed.
      s.order.merge(db(10));
      expect(s.order.gap()).toEqual({ from: 8, to: 9 });
      expect(s.order.passHole(1500)).toBe(false);
      expect(s.order.passHole(2500)).toBe(true);
      expect(s.seqs()).toEqual([10]);
    });

    it("restarts the clock when the gap closed in between", () => {
      const s = stream(0, { holeMs: 1000 });
      s.order.offer(live(2));
      s.order.passHole(0);
      s.order.offer(live(1));
      expect(s.order.gap()).toBeNull();
      s.order.offer(live(4));
      expect(s.order.passHole(1500)).toBe(false);
      expect(s.order.passHole(2400)).toBe(false);
      expect(s.order.passHole(2500)).toBe(true);
      expect(s.seqs()).toEqual([1, 2, 4]);
    });

    it("passes only up to the first held item: a later hole waits its own time", () => {
      const s = stream(0, { holeMs: 1000 });
      s.order.offer(live(2));
      s.order.offer(live(5));
      s.order.passHole(0);
      expect(s.order.passHole(1000)).toBe(true);
      expect(s.seqs()).toEqual([2]);
      expect(s.order.gap()).toEqual({ from: 3, to: 4 });
      // The next hole's clock starts at the first fill that sees it open.
      expect(s.order.passHole(1500)).toBe(false);
      expect(s.order.passHole(2499)).toBe(false);
      expect(s.order.passHole(2500)).toBe(true);
      expect(s.seqs()).toEqual([2, 5]);
    });
  });

  it("waits before a fill from the first delay, doubling per fill that found nothing, up to the cap", () => {
    expect(fillDelayMs(0)).toBe(FILL_FIRST_DELAY_MS);
    expect(fillDelayMs(1)).toBe(FILL_FIRST_DELAY_MS * 2);
    expect(fillDelayMs(3)).toBe(FILL_FIRST_DELAY_MS * 8);
    expect(fillDelayMs(50)).toBe(FILL_MAX_DELAY_MS);
  });
});
