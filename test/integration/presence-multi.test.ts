/**
 * Presence across instances with the real Redis: connections on two instances count as one
 * user's, and when an instance process is killed (SIGKILL: no clean-up at all) its users go
 * OFFLINE once its heartbeat expires, marked by a surviving instance.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTwoTestApis, stopTestApis, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { connectWs, wsUrl, type Queued, type TestWsClient } from "../helpers/ws.js";
import { REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { listening, topic } from "../helpers/topics.js";
import { quietPeriod } from "../helpers/wait.js";

const hasRedis = await redisAvailable();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const GRACE_MS = 300;
const ENV = { REDIS_URL, PRESENCE_GRACE_MS: String(GRACE_MS), PRESENCE_INSTANCE_TTL_SECONDS: "2" };

type Changes = Queued<{ data?: { presenceChanged: { user: { username: string }; status: string } } }>;
const CHANGED = `subscription { presenceChanged { user { username } status } }`;

/** The test database's URI with its name in the path (what a separate process is given). */
function uriWithDb(uri: string, dbName: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${dbName}`);
}

describe.skipIf(!hasRedis)("presence across instances (Redis)", () => {
  let a: TestApi;
  let b: TestApi;
  let ann: TestUser, ben: TestUser;
  let child: ChildProcess | undefined;
  const clients: TestWsClient[] = [];
  const ws = async (u: TestUser, url: string) => {
    const c = await connectWs(wsUrl(url), u.token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ({ a, b } = await startTwoTestApis(ENV));
    [ann, ben] = await Promise.all(["ann", "ben"].map((n) => registerUser(a, n)));
    await a.gql(`mutation($u: ID!) { requestContact(userId: $u) { status } }`, { u: ben.id }, ann.token);
    await a.gql(`mutation($u: ID!) { acceptContact(userId: $u) { status } }`, { u: ann.id }, ben.token);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    for (const c of clients) await c.close().catch(() => undefined);
    await stopTestApis(b, a);
  });

  it("counts a user's connections on both instances: OFFLINE only when the last one closes", async () => {
    const benWs = await ws(ben, a.url);
    // Live on A (and subscribed in Redis) before ann connects: graphql-ws acknowledges no subscribe.
    const benSub = await listening(a, topic("PRESENCE", ann.id), () => benWs.subscribe(CHANGED) as Changes);
    const onA = await ws(ann, a.url);
    expect((await benSub.next()).data?.presenceChanged).toEqual({ user: { username: "ann" }, status: "ONLINE" });
    const onB = await ws(ann, b.url);
    await onA.close();
    // Well past the grace period, ann's own change is the next event: no OFFLINE came between.
    await quietPeriod(GRACE_MS + 700, "an OFFLINE would come from the grace timer, which no event or query shows before it fires");
    await b.gql(`mutation { setPresence(input: { status: AWAY }) { status } }`, {}, ann.token);
    expect((await benSub.next()).data?.presenceChanged.status).toBe("AWAY");
    await onB.close();
    // Published by B, delivered through Redis to ben's subscription on A.
    expect((await benSub.next()).data?.presenceChanged).toEqual({ user: { username: "ann" }, status: "OFFLINE" });
  });

  it("turns a killed instance's users OFFLINE within the heartbeat expiry", async () => {
    child = spawn(process.execPath, ["dist/index.js"], {
      cwd: root,
      env: {
        ...process.env,
        ...ENV,
        PORT: "0",
        LOG_LEVEL: "info",
        NODE_ENV: "test",
        MONGODB_URI: uriWithDb(a.mongo.uri, a.mongo.dbName),
        JWT_SECRET: "test-secret-that-is-long-enough-0123456789",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        const m = /"port":(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      });
      child!.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      child!.once("exit", (code) => reject(new Error(`exited early with ${code}: ${output}`)));
    });
    const benWs = await ws(ben, a.url);
    const benSub = await listening(a, topic("PRESENCE", ann.id), () => benWs.subscribe(CHANGED) as Changes);
    const onChild = await connectWs(wsUrl(`http://127.0.0.1:${port}`), ann.token);
    expect((await benSub.next()).data?.presenceChanged).toEqual({ user: { username: "ann" }, status: "ONLINE" });
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    await onChild.close().catch(() => undefined);
    // The child never got to say anything: A's sweep finds its heartbeat gone.
    expect((await benSub.next(30_000)).data?.presenceChanged).toEqual({ user: { username: "ann" }, status: "OFFLINE" });
    expect(await a.db.models.Presence.findOne({ user_id: ann.id }).lean()).toMatchObject({ status: "offline" });
  }, 60_000);
});
