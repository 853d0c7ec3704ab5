/**
 * Runs async tasks one at a time per key (a per-key mutex), in arrival order. Used to send
 * messages of one conversation one after another inside an instance: concurrent transactions
 * on the same conversation document would otherwise conflict (WriteConflict) and burn retries;
 * only senders on other instances still conflict, and the transaction's retry covers those.
 *
 * The map holds a key only while it has a task running or waiting, so it never grows with the
 * number of conversations ever seen. It lives on the owning service instance, not at module level.
 */
export class KeyedQueue {
  /** key → the tail of its chain (settles when the last task queued so far is done). */
  private readonly tails = new Map<string, Promise<void>>();

  /** Number of keys with work running or waiting (tests, metrics). */
  get size(): number {
    return this.tails.size;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task);
    // The chain goes on whether the task succeeded or not; a failure is the caller's to handle.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
