/**
 * `npm run test:faults` (FAULTS_PROFILE=short|full, default full): the fault-injection run of
 * test/faults/harness.ts. Prints its figures and fails on any lost, doubled, out-of-order or
 * unacknowledged message, any 5xx other than a shed 503 with Retry-After, and presence that
 * outlives a killed instance. Not part of `npm test` (it takes minutes); `.ci/run` runs the
 * short profile.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Harness, PROFILES, formatReport } from "./harness.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";

const profileName = process.env.FAULTS_PROFILE ?? "full";
const base = PROFILES[profileName];
if (!base) throw new Error(`FAULTS_PROFILE must be one of ${Object.keys(PROFILES).join(", ")}, got "${profileName}"`);
// Overrides for measuring (README "Reliability"): FAULTS_RATE=sends per second, and
// FAULTS_API_ENV="NAME=value,NAME=value" for the API instances (e.g. ADMISSION_QUEUE_MS=0).
const rate = process.env.FAULTS_RATE ? Number(process.env.FAULTS_RATE) : base.rate;
if (!(rate > 0)) throw new Error(`FAULTS_RATE must be a positive number, got "${process.env.FAULTS_RATE}"`);
const apiEnv = Object.fromEntries(
  (process.env.FAULTS_API_ENV ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.split("=")[0].trim(), kv.slice(kv.indexOf("=") + 1).trim()]),
);
const profile = { ...base, rate, maxInFlight: Math.max(base.maxInFlight, rate * 5), env: { ...base.env, ...apiEnv } };

describe(`fault injection (${profile.name} profile)`, () => {
  let harness: Harness | undefined;
  afterAll(async () => {
    await harness?.stop();
  });

  it(
    "loses nothing and doubles nothing through SIGKILL, SIGSTOP and a Redis cut",
    async () => {
      // The harness needs Redis: without it this is a failure, never a skip.
      expect(await redisAvailable(), `Redis at ${REDIS_URL}`).toBe(true);
      harness = new Harness(profile, REDIS_URL);
      const t0 = performance.now();
      await harness.start();
      await harness.setUp();
      const t1 = performance.now();
      await harness.run();
      await harness.drain();
      const report = await harness.check();
      console.log(`${formatReport(report)}\n  set-up ${Math.round((t1 - t0) / 1000)} s, load and drain ${Math.round((performance.now() - t1) / 1000)} s`);
      expect(report.violations).toEqual([]);
      expect(report.deliveriesReceived).toBe(report.deliveriesExpected);
      expect(report.faults.every((f) => f.recoveryMs !== null)).toBe(true);
    },
    15 * 60_000,
  );
});
