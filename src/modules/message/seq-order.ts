/**
 * The ordering decisions of a per-conversation message stream (streams.ts), without I/O or a
 * clock: what to release now, what to drop, which seqs are missing, when a standalone hole is
 * passed. The stream owns the topic listener, the timers and the database reads; this class
 * only holds the last released seq and the messages that arrived ahead of it.
 *
 * Rules: items are released strictly in seq order, each seq once. A seq at or below the last
 * released is dropped (an event published twice, or a fill that read what a live event already
 * brought). A missing seq is never skipped on a timer, except a standalone database's hole
 * (see `passHole`). While replaying (the first database read of a stream with `afterSeq`), live
 * items are only held: the database's pages release them, in order, as they are merged.
 */

/** First wait before a gap fill: the missing event is usually only a moment behind the one that showed the gap. */
export const FILL_FIRST_DELAY_MS = 20;
/** Back-off cap between fills of a gap that is still open. */
export const FILL_MAX_DELAY_MS = 2000;
/**
 * Standalone database only (no transactions): a seq may have no message for good (a crash
 * between the seq `$inc` and the insert). Such a hole is passed once it has stayed open this
 * long with later messages stored. With transactions no hole exists and none is ever skipped.
 */
export const STANDALONE_HOLE_MS = 30_000;

/** The wait before the next fill, doubling with each fill in a row that found nothing. */
export function fillDelayMs(idleFills: number): number {
  return Math.min(FILL_FIRST_DELAY_MS * 2 ** idleFills, FILL_MAX_DELAY_MS);
}

/** Missing seqs, both ends included. */
export interface SeqGap {
  from: number;
  to: number;
}

export interface SeqOrderOptions<T> {
  /** Receives each released item, in seq order (the stream's queue). */
  release: (item: T) => void;
  /** Hold live items until the first `merge`/`endReplay` (a stream that replays from the database). */
  replaying?: boolean;
  /** How long a standalone hole stays open before `passHole` passes it. */
  holeMs?: number;
}

export class SeqOrder<T> {
  /** Items ahead of `last`, by seq, waiting for the seqs before them. */
  private readonly held = new Map<number, T>();
  private lastSeq: number;
  /** The highest seq known to exist: from items and from the database's `last_seq`. */
  private known: number;
  /** Since when (caller's clock) the next seq has been missing; null while nothing is. */
  private holeSince: number | null = null;
  private replay: boolean;
  private readonly release: (item: T) => void;
  private readonly holeMs: number;

  constructor(
    private readonly seqOf: (item: T) => number,
    /** The last seq already delivered (the stream starts after it). */
    last: number,
    options: SeqOrderOptions<T>,
  ) {
    this.lastSeq = last;
    this.known = last;
    this.release = options.release;
    this.replay = options.replaying ?? false;
    this.holeMs = options.holeMs ?? STANDALONE_HOLE_MS;
  }

  /** The last seq released. */
  get last(): number {
    return this.lastSeq;
  }

  /** True until the replay's database read is done (`endReplay`). */
  get replaying(): boolean {
    return this.replay;
  }

  /**
   * A live item. Returns false when it is dropped (its seq was already released); otherwise it
   * is held and, unless replaying, released with every item now in sequence after it.
   */
  offer(item: T): boolean {
    const seq = this.seqOf(item);
    if (seq <= this.lastSeq) return false;
    this.hold(seq, item);
    if (!this.replay) this.drain();
    return true;
  }

  /**
   * The database's `last_seq` (the high-water check). Returns true when it tells something new
   * (seqs past every one known exist): the caller then looks at `gap()`.
   */
  committed(lastSeq: number): boolean {
    if (lastSeq <= this.known) return false;
    this.known = lastSeq;
    return true;
  }

  /**
   * Items read from the database after `last`, in any order: each seq not yet released or held
   * is held (an item already held from a live event is kept), then everything in sequence is
   * released, replaying or not (the database read is what a replay waits for).
   */
  merge(items: Iterable<T>): void {
    for (const item of items) {
      const seq = this.seqOf(item);
      if (seq > this.lastSeq && !this.held.has(seq)) this.hold(seq, item);
    }
    this.drain();
  }

  /** The replay's database read is done: from now on live items are released as they come. */
  endReplay(): void {
    this.replay = false;
    this.drain();
  }

  /** The first run of missing seqs after `last` (null when nothing known is missing). */
  gap(): SeqGap | null {
    let from = this.lastSeq + 1;
    while (this.held.has(from)) from++;
    if (from > this.known) return null;
    let to = this.known;
    for (const seq of this.held.keys()) if (seq > from && seq - 1 < to) to = seq - 1;
    return { from, to };
  }

  /**
   * Standalone database only (the caller checks): after a fill that did not close the gap, pass
   * the hole once it has been open `holeMs` by `now` (the caller's clock, e.g. Date.now()).
   * Passing skips to the first held item, or, with none held, gives up on the seqs known
   * only from `last_seq`. Returns true when it passed a hole.
   */
  passHole(now: number): boolean {
    if (this.settled()) {
      this.holeSince = null;
      return false;
    }
    this.holeSince ??= now;
    if (now - this.holeSince < this.holeMs) return false;
    this.holeSince = null;
    if (this.held.size > 0) this.lastSeq = Math.min(...this.held.keys()) - 1;
    else this.known = this.lastSeq;
    this.drain();
    return true;
  }

  private hold(seq: number, item: T): void {
    this.held.set(seq, item);
    if (seq > this.known) this.known = seq;
  }

  /** Nothing held and nothing known past `last`. */
  private settled(): boolean {
    return this.held.size === 0 && this.known <= this.lastSeq;
  }

  /** Releases the run of held items after `last`; drops any held at or below it. */
  private drain(): void {
    for (let item = this.held.get(this.lastSeq + 1); item !== undefined; item = this.held.get(this.lastSeq + 1)) {
      this.held.delete(this.lastSeq + 1);
      this.lastSeq += 1;
      this.release(item);
    }
    for (const seq of this.held.keys()) if (seq <= this.lastSeq) this.held.delete(seq);
    if (this.settled()) this.holeSince = null;
  }
}
