/**
 * Waiting for a condition instead of sleeping a fixed time: each helper polls or awaits
 * something observable and fails naming what it waited for when it never comes (so a test
 * fails on behaviour, never on speed). The one exception, `quietPeriod`, is named so that every
 * remaining fixed wait says why it cannot be a condition.
 */

export interface WaitOptions {
  /** Pause between checks (default 100 ms). */
  intervalMs?: number;
  /** Checks before giving up (default 300: 30 s at the default interval). */
  tries?: number;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it holds; fails naming `what`. A number is the number of tries (the old signature). */
export async function until(check: () => boolean | Promise<boolean>, what: string, options: number | WaitOptions = {}): Promise<void> {
  await waitFor(async () => (await check()) || null, what, options);
}

/** Polls `get` until it returns a value (not null, undefined or false) and returns it. */
export async function waitFor<T>(
  get: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  what: string,
  options: number | WaitOptions = {},
): Promise<T> {
  const { intervalMs = 100, tries = 300 } = typeof options === "number" ? { tries: options } : options;
  for (let i = 0; i < tries; i++) {
    const value = await get();
    if (value !== null && value !== undefined && value !== false) return value;
    await pause(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until the clock is past `epochMs` (a signed URL's expiry, a ticket's millisecond). */
export async function clockPast(epochMs: number): Promise<void> {
  const left = epochMs - Date.now();
  if (left >= 0) await pause(left + 1);
  await until(() => Date.now() > epochMs, `the clock to pass ${new Date(epochMs).toISOString()}`, { intervalMs: 5 });
}

/** A subscription's queue as test/helpers/ws.ts gives it: `next()` waits for the next result. */
interface NextSource<T> {
  next(timeoutMs?: number): Promise<T>;
}

/** Takes results until one matches (earlier ones are other events of the same subscription). */
export async function nextMatching<T>(source: NextSource<T>, match: (r: T) => boolean): Promise<T> {
  for (;;) {
    const r = await source.next();
    if (match(r)) return r;
  }
}

/** The next `messageUpdated` event about message `id` on a stream (events about other messages, e.g. probes, are skipped). */
export async function nextUpdateOf<M extends { id: string }>(source: NextSource<{ data?: { messageUpdated: M } }>, id: string): Promise<M> {
  return (await nextMatching(source, (r) => r.data?.messageUpdated.id === id)).data!.messageUpdated;
}

/** `promise`, or a failure naming `what` after `ms`: a deadline so a missing event fails the test instead of hanging it. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * A fixed wait, kept only where a test must let time pass to prove that something
 * time-driven did NOT happen (a timer that must not fire) and no event or state can show it
 * instead. `why` says which timer; it is not used otherwise, the call site is the record.
 */
export function quietPeriod(ms: number, _why: string): Promise<void> {
  return pause(ms);
}
