/**
 * Waiting for a condition instead of sleeping a fixed time: polls `check` every 100 ms and
 * fails naming `what` when it never holds (so a test fails on behaviour, never on speed).
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
