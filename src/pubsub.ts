/**
 * Live events, generic over a topic map: topics are per entity (`CONVERSATION:<id>`,
 * `USER:<id>`, …), never one global topic filtered per subscriber. Events are plain JSON (ids
 * as strings, dates as ISO strings) so they cross Redis unchanged when REDIS_URL is set. This
 * file knows no feature: the events live with their features, the map at the root.
 */
import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import { randomBytes } from "node:crypto";
import { createRedisClient, silentRedisLog, type RedisLog } from "./common/redis.js";
import { PublishTimes, withPublishTimes, type PublishTimeLookup } from "./common/publish-times.js";
import { setMaxListeners } from "node:events";

/**
 * A topic map: routing key → [id, event]. Features declare the topics they publish on
 * (`*.events.ts`); the composition root assembles the full map (src/topics.ts).
 */
export type TopicMap = { [key: string]: [id: string, event: unknown] };

export type AppPubSub<Topics extends TopicMap> = PubSub<Topics> & {
  /**
   * A plain listener on one topic, for streams that keep their own queue (the hot path of
   * message fan-out): no async iterator between the event and the subscriber.
   */
  listen<K extends keyof Topics & string>(routingKey: K, id: string, fn: (payload: Topics[K][1]) => void): () => void;
};

function withListen<Topics extends TopicMap>(pubSub: PubSub<Topics>, target: EventTarget): AppPubSub<Topics> {
  return Object.assign(pubSub, {
    listen<K extends keyof Topics & string>(routingKey: K, id: string, fn: (payload: Topics[K][1]) => void): () => void {
      const topic = `${routingKey}:${id}`;
      const handler = (event: Event) => fn((event as CustomEvent<Topics[K][1]>).detail);
      target.addEventListener(topic, handler);
      return () => target.removeEventListener(topic, handler);
    },
  });
}

/** A Redis envelope: the publishing instance's id and the event. */
interface Envelope {
  i: string;
  d: unknown;
}

/**
 * An event target over Redis that delivers locally first: a publish reaches this instance's
 * own subscribers at once (a fresh JSON copy, as an event from Redis would be) and goes to
 * Redis tagged with the instance id; the instance ignores its own echo. So a Redis outage
 * never stops an instance delivering what it publishes to its own clients, and a slow Redis
 * never delays them. Channels are SUBSCRIBEd while a local listener wants them.
 */
function localFirstRedisTarget(
  instanceId: string,
  /** JSON that carries each event's publish time across (see common/publish-times.ts). */
  serializer: PublishTimes["serializer"],
  publish: (channel: string, message: string) => unknown,
  subscriber: {
    on(event: "message", fn: (channel: string, message: string) => void): unknown;
    subscribe(channel: string): unknown;
    unsubscribe(channel: string): unknown;
  },
): EventTarget {
  const local = new EventTarget();
  setMaxListeners(0, local);
  const listeners = new Map<string, number>();
  const dispatchLocal = (topic: string, detail: unknown) => local.dispatchEvent(new CustomEvent(topic, { detail }));
  subscriber.on("message", (channel, message) => {
    if (!listeners.has(channel)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      return;
    }
    if (envelope.i === instanceId) return;
    dispatchLocal(channel, serializer.revive(envelope.d));
  });
  return {
    addEventListener(topic: string, callback: Parameters<EventTarget["addEventListener"]>[1]) {
      if (!callback) return;
      const n = listeners.get(topic) ?? 0;
      listeners.set(topic, n + 1);
      if (n === 0) subscriber.subscribe(topic);
      local.addEventListener(topic, callback);
    },
    removeEventListener(topic: string, callback: Parameters<EventTarget["addEventListener"]>[1]) {
      if (!callback) return;
      local.removeEventListener(topic, callback);
      const n = (listeners.get(topic) ?? 0) - 1;
      if (n > 0) return void listeners.set(topic, n);
      listeners.delete(topic);
      subscriber.unsubscribe(topic);
    },
    dispatchEvent(event: Event) {
      const detail = (event as CustomEvent).detail ?? null;
      const text = serializer.stringify(detail);
      dispatchLocal(event.type, serializer.parse(text));
      publish(event.type, `{"i":${JSON.stringify(instanceId)},"d":${text}}`);
      return true;
    },
  } as EventTarget;
}

export interface PubSubHandle<Topics extends TopicMap> {
  /** With the publish time of each event it carried (for the delivery-latency metric). */
  pubSub: AppPubSub<Topics> & PublishTimeLookup;
  /** Redis reachable (both connections ready and answering); null without Redis. */
  ping(): Promise<boolean | null>;
  close(): Promise<void>;
}

/** How long /readyz waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 1000;

/** `log` hears of each Redis outage once, and of its end (see common/redis.ts). */
export function createAppPubSub<Topics extends TopicMap>(redisUrl: string | null, log: RedisLog = silentRedisLog): PubSubHandle<Topics> {
  const times = new PublishTimes();
  if (!redisUrl) {
    // One listener per subscriber and topic: thousands on a busy conversation are expected.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return {
      pubSub: withPublishTimes(withListen(createPubSub<Topics>({ eventTarget: eventTarget as never }), eventTarget), times),
      ping: async () => null,
      close: async () => {},
    };
  }
  const publishClient = createRedisClient(redisUrl, "pubsub.publish", log, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = createRedisClient(redisUrl, "pubsub.subscribe", log, { lazyConnect: false, maxRetriesPerRequest: 3 });
  // The event target drops the promise of each PUBLISH: while Redis is away a publish fails
  // after its retries, and an unhandled rejection would end the process. Live events then
  // resume with Redis, and subscribers' streams fill the gap from the database.
  // SUBSCRIBE/UNSUBSCRIBE likewise (an UNSUBSCRIBE pending at close rejects "Connection is
  // closed"); ioredis re-subscribes its channels by itself after a reconnect.
  const safePublisher = { publish: (channel: string, message: string) => publishClient.publish(channel, message).catch(() => 0) };
  const safeSubscriber = {
    on: (event: "message", fn: (channel: string, message: string) => void) => subscribeClient.on(event, fn),
    subscribe: (channel: string) => subscribeClient.subscribe(channel).catch(() => 0),
    unsubscribe: (channel: string) => subscribeClient.unsubscribe(channel).catch(() => 0),
  };
  const eventTarget = localFirstRedisTarget(randomBytes(8).toString("hex"), times.serializer, safePublisher.publish, safeSubscriber);
  // Events other instances published while Redis was away never arrive: the streams' own
  // high-water check (conversation/high-water.ts) finds the messages among them in the database.
  return {
    pubSub: withPublishTimes(withListen(createPubSub<Topics>({ eventTarget: eventTarget as never }), eventTarget), times),
    async ping() {
      // ioredis reconnects (and re-subscribes) by itself; until then the status is not "ready".
      if (publishClient.status !== "ready" || subscribeClient.status !== "ready") return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), REDIS_PING_TIMEOUT_MS)));
      try {
        return await Promise.race([
          publishClient.ping().then(
            (r) => r === "PONG",
            () => false,
          ),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
