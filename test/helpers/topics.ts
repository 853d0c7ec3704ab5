/**
 * Waiting for a live stream to be registered, instead of sleeping: graphql-ws acknowledges no
 * subscribe, so a test that needs a stream live before it acts (streams without replay: typing,
 * receipts, presence, calls, the all-conversations feed) waits until the server listens on the
 * topic the awaited event comes on.
 *
 * How it is seen: a pass-through tap on the instance's pubsub object, installed at first use,
 * counts the listeners registered per topic by `listen` and by the iterators of `subscribe`
 * (when iteration starts, which is when the underlying listener is added). The calls go on to
 * the real pubsub unchanged. Message streams of one conversation share one pubsub listener
 * (ConversationListeners in streams.ts): each stream after the first on a topic is counted
 * there, so a topic still grows by one per stream. With Redis, events published by another instance arrive through
 * the channel's Redis subscription, so the channel must also have a subscriber there.
 */
import { Redis } from "ioredis";
import type { TestApi } from "./api.js";
import { until } from "./wait.js";

type TopicKey = "CONVERSATION" | "USER" | "CALL_SIGNAL" | "PRESENCE" | "ACCOUNT";

/** The pubsub topic (and Redis channel) of a routing key and id, as src/pubsub.ts names them. */
export function topic(key: TopicKey, id: string): string {
  return `${key}:${id}`;
}

interface Tapped {
  listen(key: string, id: string, fn: (payload: unknown) => void): () => void;
  subscribe(key: string, id: string): AsyncIterableIterator<unknown>;
}

interface TappedStreams {
  add(topic: string, stream: unknown): void;
  remove(topic: string, stream: unknown): void;
  count(topic: string): number;
}

/** Listeners added and removed per topic since the tap was installed (both only grow). */
interface Counts {
  added: Map<string, number>;
  removed: Map<string, number>;
}

const taps = new WeakMap<object, Counts>();
const bump = (m: Map<string, number>, t: string) => m.set(t, (m.get(t) ?? 0) + 1);

function tap(api: TestApi): Counts {
  const pubSub = api.server.services.pubSub as unknown as Tapped;
  const existing = taps.get(pubSub);
  if (existing) return existing;
  const counts: Counts = { added: new Map(), removed: new Map() };
  const listen = pubSub.listen.bind(pubSub);
  pubSub.listen = (key, id, fn) => {
    const t = topic(key as TopicKey, id);
    const off = listen(key, id, fn);
    bump(counts.added, t);
    let on = true;
    return () => {
      off();
      if (on) bump(counts.removed, t);
      on = false;
    };
  };
  const subscribe = pubSub.subscribe.bind(pubSub);
  pubSub.subscribe = (key, id) => {
    const t = topic(key as TopicKey, id);
    const iterator = subscribe(key, id);
    const next = iterator.next.bind(iterator);
    const end = iterator.return?.bind(iterator);
    let state: "new" | "started" | "ended" = "new";
    iterator.next = (...args) => {
      const r = next(...args);
      // The pubsub's iterator adds its event listener when iteration starts.
      if (state === "new") bump(counts.added, t);
      if (state === "new") state = "started";
      return r;
    };
    if (end) {
      iterator.return = (...args) => {
        const r = end(...args);
        if (state === "started") bump(counts.removed, t);
        state = "ended";
        return r;
      };
    }
    return iterator;
  };
  // The first stream of a conversation adds the pubsub listener (counted above), the others
  // only join it; the last one to go removes it.
  const streams = api.server.services.streams.listeners as unknown as TappedStreams;
  const add = streams.add.bind(streams);
  const remove = streams.remove.bind(streams);
  streams.add = (id, stream) => {
    const joins = streams.count(id) > 0;
    add(id, stream);
    if (joins) bump(counts.added, topic("CONVERSATION", id));
  };
  streams.remove = (id, stream) => {
    const before = streams.count(id);
    remove(id, stream);
    const after = streams.count(id);
    if (after < before && after > 0) bump(counts.removed, topic("CONVERSATION", id));
  };
  taps.set(pubSub, counts);
  return counts;
}

/** Waits until `counts` grew by the wanted number per topic since `before`. */
async function grown(counts: Map<string, number>, wanted: Map<string, number>, before: Map<string, number>, what: string): Promise<void> {
  await until(() => [...wanted].every(([t, n]) => (counts.get(t) ?? 0) - before.get(t)! >= n), what, { intervalMs: 10, tries: 3000 });
}

function tally(topics: string | string[]): Map<string, number> {
  const wanted = new Map<string, number>();
  for (const t of [topics].flat()) bump(wanted, t);
  return wanted;
}

const snapshot = (counts: Map<string, number>, wanted: Map<string, number>) => new Map([...wanted.keys()].map((t) => [t, counts.get(t) ?? 0]));

/** Waits until each channel has a Redis subscriber (any instance on that Redis). */
async function redisSubscribed(url: string, channels: Iterable<string>): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    for (const channel of channels) {
      await until(async () => Number(((await client.pubsub("NUMSUB", channel)) as [string, number])[1]) > 0, `a Redis subscriber on ${channel}`, {
        intervalMs: 20,
        tries: 1500,
      });
    }
  } finally {
    client.disconnect();
  }
}

/**
 * Runs `start` (subscribing, or connecting a socket) and waits until `api` has added a new
 * listener on each of `topics` (a topic listed twice needs two): the stream is then live on
 * that instance. With Redis, each channel must also have a Redis subscriber (the tests have one
 * listening instance per channel). Returns what `start` returned.
 */
export async function listening<T>(api: TestApi, topics: string | string[], start: () => T | Promise<T>): Promise<T> {
  const wanted = tally(topics);
  const { added } = tap(api);
  const before = snapshot(added, wanted);
  const result = await start();
  await grown(added, wanted, before, `the server to listen on ${[...wanted.keys()].join(", ")}`);
  if (api.config.redisUrl) await redisSubscribed(api.config.redisUrl, wanted.keys());
  return result;
}

/** Runs `stop` (ending a subscription) and waits until `api` has removed a listener from each of `topics`. */
export async function unlistened(api: TestApi, topics: string | string[], stop: () => unknown): Promise<void> {
  const wanted = tally(topics);
  const { removed } = tap(api);
  const before = snapshot(removed, wanted);
  await stop();
  await grown(removed, wanted, before, `the server to stop listening on ${[...wanted.keys()].join(", ")}`);
}
