/**
 * When each live event was published, and what kind it is, so delivery latency (publish →
 * socket write) is measured for every subscription alike. Stamped once, where events are
 * published; kept beside the event object (a WeakMap), never in it, so resolvers see the
 * payload unchanged. Across Redis the stamp rides in the message and is taken out again on
 * arrival: the receiving instance then knows the publish time too (as far as the two clocks
 * agree; a latency below zero counts as zero).
 */

export interface PublishStamp {
  /** performance.now() of this process at publish (converted on arrival from Redis). */
  at: number;
  /** The event's `type` (message.added, receipt, typing, call.updated…) or its topic (presence, call.signal). */
  kind: string;
}

export interface PublishTimeLookup {
  /** The stamp of a published event, or undefined (replayed history, stream errors). */
  publishedAt(event: unknown): PublishStamp | undefined;
}

/** The property that carries the stamp inside a Redis message: `[epoch ms, kind]`. */
const WIRE_KEY = "$published";

/** An event's kind: its `type` when it has one, else its topic (PRESENCE → presence, CALL_SIGNAL → call.signal). */
export function eventKind(routingKey: string, payload: unknown): string {
  const type = (payload as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : routingKey.toLowerCase().replace(/_/g, ".");
}

export class PublishTimes implements PublishTimeLookup {
  private readonly stamps = new WeakMap<object, PublishStamp>();

  /** First stamp wins (one event object published to several topics keeps its first time). */
  stamp(event: unknown, kind: string): void {
    if (event !== null && typeof event === "object" && !this.stamps.has(event)) this.stamps.set(event, { at: performance.now(), kind });
  }

  publishedAt(event: unknown): PublishStamp | undefined {
    return event !== null && typeof event === "object" ? this.stamps.get(event) : undefined;
  }

  /** An event parsed from Redis: its stamp taken out of it and kept beside it. */
  revive(value: unknown): unknown {
    const wire = (value as Record<string, unknown> | null)?.[WIRE_KEY];
    if (Array.isArray(wire) && typeof wire[0] === "number" && typeof wire[1] === "string") {
      delete (value as Record<string, unknown>)[WIRE_KEY];
      this.stamps.set(value as object, { at: performance.now() - (Date.now() - wire[0]), kind: wire[1] });
    }
    return value;
  }

  /** JSON for the Redis event target, carrying the stamp (as wall-clock time) across instances. */
  readonly serializer = {
    stringify: (value: unknown): string => {
      const stamp = this.publishedAt(value);
      if (!stamp || Array.isArray(value)) return JSON.stringify(value);
      return JSON.stringify({ ...(value as object), [WIRE_KEY]: [Date.now() - (performance.now() - stamp.at), stamp.kind] });
    },
    parse: (text: string): unknown => this.revive(JSON.parse(text) as unknown),
    revive: (value: unknown): unknown => this.revive(value),
  };
}

/** Stamps every event `pubSub.publish` sends, before it goes anywhere; adds `publishedAt`. */
export function withPublishTimes<P extends { publish: (...args: never[]) => unknown }>(pubSub: P, times: PublishTimes): P & PublishTimeLookup {
  const publish = pubSub.publish.bind(pubSub) as (routingKey: string, ...args: unknown[]) => unknown;
  return Object.assign(pubSub, {
    // (routingKey, id, payload), or (routingKey, payload) for a topic without id: the payload is last.
    publish: (routingKey: string, ...args: unknown[]) => {
      const payload = args[args.length - 1];
      times.stamp(payload, eventKind(routingKey, payload));
      return publish(routingKey, ...args);
    },
    publishedAt: (event: unknown) => times.publishedAt(event),
  }) as P & PublishTimeLookup;
}
