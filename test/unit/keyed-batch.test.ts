/** KeyedBatcher: one batch at a time per key, arrival order, waiting jobs batched, keys dropped when idle. */
import { describe, expect, it } from "vitest";
import { KeyedBatcher } from "../../src/common/keyed-batch.js";

/** A gate the batches wait at until the test opens it: every job is queued while the first batches run. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe("KeyedBatcher", () => {
  it("runs one batch per key at a time, batches what waited, keeps order, and forgets idle keys", async () => {
    const batches: string[][] = [];
    let active = 0;
    let maxActive = 0;
    const running = gate();
    const b = new KeyedBatcher<string, string>(async (jobs) => {
      active++;
      maxActive = Math.max(maxActive, active);
      batches.push(jobs);
      await running.wait;
      active--;
      return jobs.map((j) => (j === "bad" ? { status: "rejected", reason: new Error(j) } : { status: "fulfilled", value: j.toUpperCase() }));
    }, 3);
    const settled = Promise.allSettled(["a", "b", "bad", "c", "d", "e"].map((j) => b.run("k", j)));
    running.open();
    const results = await settled;
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual(["A", "B", "bad", "C", "D", "E"]);
    // The first job starts alone; the rest waited behind it and go in batches of at most 3.
    expect(batches).toEqual([["a"], ["b", "bad", "c"], ["d", "e"]]);
    expect(maxActive).toBe(1);
    expect(b.size).toBe(0);
  });

  it("runs different keys side by side, and a thrown batch rejects each of its jobs", async () => {
    let active = 0;
    let maxActive = 0;
    const running = gate();
    const b = new KeyedBatcher<string, string>(async (jobs) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await running.wait;
      active--;
      if (jobs.includes("throw")) throw new Error("boom");
      return jobs.map((value) => ({ status: "fulfilled", value }));
    }, 10);
    const settled = Promise.allSettled([b.run("k1", "x"), b.run("k2", "throw")]);
    running.open();
    const [x, y] = await settled;
    expect(x).toEqual({ status: "fulfilled", value: "x" });
    expect(y.status).toBe("rejected");
    expect(maxActive).toBe(2);
    expect(b.size).toBe(0);
  });
});
