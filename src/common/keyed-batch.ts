/**
 * Runs jobs one batch at a time per key, in arrival order: while a key's batch runs, jobs for
 * that key wait, and the next batch takes all of them (up to `maxBatch`). Used to send the
 * messages of one conversation: inside an instance they never race for the conversation
 * document (concurrent transactions on it would conflict, WriteConflict, and burn retries;
 * only other instances still conflict, and the transaction's retry covers those), and the
 * messages that queued up behind one transaction commit together in the next, so a busy group
 * pays one transaction per batch rather than per message.
 *
 * A key is held only while it has jobs running or waiting, so the maps never grow with the
 * number of keys ever seen. It lives on the owning service instance, not at module level.
 */
export class KeyedBatcher<J, R> {
  private readonly waiting = new Map<string, Array<{ job: J; resolve: (r: R) => void; reject: (e: unknown) => void }>>();

  /** `process` answers one settled result per job, in order. */
  constructor(
    private readonly process: (jobs: J[]) => Promise<Array<PromiseSettledResult<R>>>,
    private readonly maxBatch: number,
  ) {}

  /** Keys with work running or waiting (tests, metrics). */
  get size(): number {
    return this.waiting.size;
  }

  run(key: string, job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      // A key's queue exists exactly while its drain runs: the first job of an idle key starts it.
      const queue = this.waiting.get(key);
      if (queue) return void queue.push({ job, resolve, reject });
      this.waiting.set(key, [{ job, resolve, reject }]);
      void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    for (;;) {
      const queue = this.waiting.get(key);
      if (!queue || queue.length === 0) {
        this.waiting.delete(key);
        return;
      }
      const batch = queue.splice(0, this.maxBatch);
      let results: Array<PromiseSettledResult<R>>;
      try {
        results = await this.process(batch.map((b) => b.job));
      } catch (err) {
        results = batch.map(() => ({ status: "rejected", reason: err }));
      }
      batch.forEach((b, i) => {
        // A missing result is a failure too: the key must never be left without its drain.
        const r = results[i] ?? { status: "rejected", reason: new Error("the batch gave no result for this job") };
        if (r.status === "fulfilled") b.resolve(r.value);
        else b.reject(r.reason);
      });
    }
  }
}
