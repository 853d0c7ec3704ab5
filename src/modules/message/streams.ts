/**
 * Live event streams for subscriptions.
 *
 * One conversation, with replay: subscribe to the topic first (events queue up), read every
 * message with seq > afterSeq from the database, then continue live. Messages are released
 * strictly in seq order, each once (a seq at or below the last delivered is dropped, so an
 * event published twice — a retried send — is harmless). A missing seq is read from the
 * database until it is there, never skipped on a timer: sends are transactions, so
 * `last_seq >= N` committed means message N is stored (README "Order and delivery"). Gaps come
 * from concurrent senders publishing out of order, and from lost events, which the per-instance
 * high-water check (high-water.ts) finds without waiting for a later message. Fills are one at
 * a time per stream, with back-off, and shared between streams at the same position.
 * Only on a standalone database (no transactions) can a seq stay empty for good; such a hole is
 * passed after STANDALONE_HOLE_MS. The ordering decisions themselves (release, drop, gap,
 * hole) are in seq-order.ts, without I/O or clock; this file owns listeners, timers and reads.
 *
 * All of the viewer's conversations: the topics of every conversation they belong to, plus
 * their user topic, which announces conversations joined or left so the set follows along.
 *
 * Rights follow the streams as events, never as a lookup per event: `access.revoked` on a
 * conversation's topic ends a one-conversation stream with FORBIDDEN and drops the
 * conversation from an all-conversations stream; `block` on the viewer's user topic hides
 * the blocker's typing and receipts from then on.
 */
import { Repeater } from "@repeaterjs/repeater";
import type { ConversationEvent } from "../conversation/conversation.events.js";
import type { UserEvent } from "../user/user.events.js";
import type {} from "./message.events.js";
import { forbidden } from "../../errors.js";
import { StreamError } from "../../subscriptions/stream-error.js";
import type { DirectSink, DirectSource } from "../../subscriptions/direct-delivery.js";
import type { ConversationRef } from "../conversation/conversation.service.js";
import type { AfterRead, Watched } from "./high-water.js";
import type { MessageView } from "./message.view.js";
import type { ConversationSnapshot } from "../conversation/conversation.view.js";
import { SeqOrder, fillDelayMs } from "./seq-order.js";
import type { StreamDeps } from "./streams.deps.js";

/** Messages read per query by a fill (a long replay takes several). */
const FILL_PAGE = 500;

export type AddedEvent = Extract<ConversationEvent, { type: "message.added" }>;

/**
 * Wraps a source so that ending the subscription ends it at once. An async generator asked to
 * return while it awaits an event would stay pending until the next event arrived, keeping
 * its topic listener; a Repeater stops immediately and closes the source's own iterators.
 */
export function stoppable<T>(source: AsyncIterator<T>, closeSource: () => unknown): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    let stopped = false;
    const stopping = stop.then(() => {
      stopped = true;
      return { done: true as const, value: undefined };
    });
    try {
      while (!stopped) {
        const r = await Promise.race([source.next(), stopping]);
        if (r.done) break;
        await push(r.value as T);
      }
    } finally {
      await closeSource();
      void source.return?.();
      stop();
    }
  });
}

/**
 * The messages of one conversation for one subscriber, as a hand-written async iterator with
 * its own queue: the topic listener pushes straight into it (fan-out to thousands of
 * subscribers pays no promise chain per hop). Events are released strictly in seq order, each
 * seq once.
 *
 * A missing seq is read from the database until it is there, never skipped on a timer: an
 * event for N+1 before N (concurrent senders), or the high-water check (high-water.ts) saying
 * `last_seq` is past what was delivered (an event lost), opens a fill. One fill runs at a time
 * per stream, after a short wait that doubles while the gap stays open; streams at the same
 * position share one query.
 *
 * Attached to a sink (direct delivery, subscriptions/direct-delivery.ts), it hands each
 * released event straight to it instead of queueing it for `next()`.
 */
class ConversationMessages implements AsyncIterableIterator<AddedEvent | StreamError>, DirectSource<AddedEvent | StreamError>, Watched, TopicListener {
  private readonly ready: Array<AddedEvent | StreamError> = [];
  private sink: DirectSink<AddedEvent | StreamError> | null = null;
  /** The ordering decisions (seq-order.ts): what to release, drop, fill. */
  private readonly order: SeqOrder<AddedEvent>;
  private waiter: ((r: IteratorResult<AddedEvent | StreamError>) => void) | null = null;
  private closed = false;
  private filling = false;
  private fillTimer: NodeJS.Timeout | null = null;
  /** Fills in a row that found nothing new (the back-off exponent). */
  private idleFills = 0;
  private readonly topic: string;
  private readonly unwatch: () => void;

  constructor(
    private readonly services: StreamDeps,
    private readonly listeners: ConversationListeners,
    private readonly conversation: ConversationRef,
    private readonly viewerId: string,
    last: number,
    replayFrom: number | null,
  ) {
    this.order = new SeqOrder<AddedEvent>(seqOf, last, { replaying: replayFrom !== null, release: (ev) => this.deliver(ev) });
    this.topic = conversation._id.toHexString();
    // Listen before reading the database: nothing published from here on is missed.
    listeners.add(this.topic, this);
    this.unwatch = services.highWater.watch(this.topic, this);
    if (replayFrom !== null) void this.fill();
  }

  /** Watched (high-water.ts): the last seq released. */
  delivered(): number {
    return this.order.last;
  }

  /** Every event of the conversation's topic (ConversationListeners). */
  onEvent(ev: ConversationEvent): void {
    if (!this.closed && ev.type === "access.revoked" && revokes(ev, this.viewerId)) return this.end();
    if (this.closed || ev.type !== "message.added") return;
    if (this.order.offer(ev)) this.followGap();
  }

  /** The high-water check: the database's last seq is past what this stream delivered. */
  nudge(lastSeq: number): void {
    if (!this.closed && this.order.committed(lastSeq)) this.followGap();
  }

  /** Schedules a fill while something is missing (not while replaying: the replay's read covers it). */
  private followGap(): void {
    if (this.order.replaying || this.closed) return;
    if (this.order.gap() === null) {
      this.idleFills = 0;
      return;
    }
    this.scheduleFill();
  }

  /** One fill at a time, after a wait that doubles with each fill that found nothing. */
  private scheduleFill(): void {
    if (this.filling || this.fillTimer || this.closed) return;
    this.fillTimer = setTimeout(() => {
      this.fillTimer = null;
      void this.fill();
    }, fillDelayMs(this.idleFills));
    this.fillTimer.unref?.();
  }

  /** Reads the messages after the last delivered from the database (replay, gaps, lost events). */
  private async fill(): Promise<void> {
    if (this.filling || this.closed) return;
    this.filling = true;
    const before = this.order.last;
    let read = false;
    try {
      for (;;) {
        const from = this.order.last;
        const { messages, snapshot } = await this.services.highWater.readAfter(this.topic, from, () => readAfter(this.services, this.conversation, from));
        if (this.closed || !snapshot) return;
        this.order.merge(eventsOf(messages, snapshot));
        if (messages.length < FILL_PAGE || this.order.last === from) break;
      }
      read = true;
      // Replay is over once the database has been read: release in order from here.
      this.order.endReplay();
    } catch {
      // Logged by highWater.readAfter (once per outage); the stream retries with back-off.
    } finally {
      this.filling = false;
    }
    if (this.closed) return;
    this.idleFills = this.order.last > before ? 0 : this.idleFills + 1;
    // Without transactions a seq can stay empty for good (seq-order.ts, STANDALONE_HOLE_MS).
    if (read && !this.services.db.transactions) this.order.passHole(Date.now());
    if (this.order.replaying) this.scheduleFill();
    else this.followGap();
  }

  /** The viewer lost the conversation: a FORBIDDEN result, then the end (nothing held is sent). */
  private end(): void {
    this.ready.length = 0;
    this.deliver(new StreamError(forbidden("You are no longer a member of this conversation")));
    void this.return();
  }

  private deliver(ev: AddedEvent | StreamError): void {
    if (this.sink) return this.sink.push(ev);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ done: false, value: ev });
    } else this.ready.push(ev);
  }

  next(): Promise<IteratorResult<AddedEvent | StreamError>> {
    if (this.ready.length) return Promise.resolve({ done: false, value: this.ready.shift()! });
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  attach(sink: DirectSink<AddedEvent | StreamError>): void {
    this.sink = sink;
    for (const ev of this.ready.splice(0)) sink.push(ev);
    if (this.closed) sink.end();
  }

  return(): Promise<IteratorResult<AddedEvent | StreamError>> {
    if (!this.closed) {
      this.closed = true;
      this.listeners.remove(this.topic, this);
      this.unwatch();
      this.sink?.end();
    }
    if (this.fillTimer) clearTimeout(this.fillTimer);
    this.fillTimer = null;
    this.waiter?.({ done: true, value: undefined });
    this.waiter = null;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<AddedEvent | StreamError> {
    return this;
  }
}

const seqOf = (ev: AddedEvent): number => ev.message.seq;

/**
 * The events of messages read from the database, made once per read: streams at the same
 * position share one read (high-water.ts), and then one event object per message, so a fill
 * after a lost event is executed and serialized once for them all (shared execution is keyed
 * by the event object).
 */
const readEvents = new WeakMap<MessageView[], AddedEvent[]>();
function eventsOf(messages: MessageView[], snapshot: ConversationSnapshot): AddedEvent[] {
  let events = readEvents.get(messages);
  if (!events || events[0]?.conversation !== snapshot) {
    events = messages.map((message): AddedEvent => ({ type: "message.added", message, conversation: snapshot }));
    readEvents.set(messages, events);
  }
  return events;
}

/** What ConversationListeners calls for each event of a topic. */
export interface TopicListener {
  onEvent(ev: ConversationEvent): void;
}

/**
 * One pubsub listener per conversation with live message streams in this instance, calling
 * each stream's `onEvent` in turn: thousands of subscribers of one conversation add no
 * listener (and no closure) each to the event target, whose dispatch costs more per listener
 * than a loop over a Set.
 */
export class ConversationListeners {
  private readonly topics = new Map<string, { streams: Set<TopicListener>; unlisten: () => void }>();

  constructor(private readonly pubSub: StreamDeps["pubSub"]) {}

  add(topic: string, stream: TopicListener): void {
    let entry = this.topics.get(topic);
    if (!entry) {
      const streams = new Set<TopicListener>();
      const unlisten = this.pubSub.listen("CONVERSATION", topic, (ev) => {
        for (const s of streams) {
          try {
            s.onEvent(ev);
          } catch (err) {
            // As the event target would: reported, and the other streams still get the event.
            process.nextTick(() => {
              throw err;
            });
          }
        }
      });
      this.topics.set(topic, (entry = { streams, unlisten }));
    }
    entry.streams.add(stream);
  }

  /** Streams listening on a topic (tests wait on it, as on the pubsub's listeners). */
  count(topic: string): number {
    return this.topics.get(topic)?.streams.size ?? 0;
  }

  remove(topic: string, stream: TopicListener): void {
    const entry = this.topics.get(topic);
    if (!entry?.streams.delete(stream) || entry.streams.size > 0) return;
    entry.unlisten();
    this.topics.delete(topic);
  }
}

/** One page of messages after `afterSeq`, and the conversation's snapshot for their events. */
async function readAfter(services: StreamDeps, conversation: ConversationRef, afterSeq: number): Promise<AfterRead> {
  const [messages, snapshot] = await Promise.all([
    services.messages.after(conversation, afterSeq, FILL_PAGE),
    services.conversations.snapshot(conversation._id),
  ]);
  return { messages, snapshot };
}

/** True when a revocation concerns this viewer. */
function revokes(ev: Extract<ConversationEvent, { type: "access.revoked" }>, viewerId: string): boolean {
  return ev.userIds === null || ev.userIds.includes(viewerId);
}

/**
 * The messages of one conversation after `afterSeq`. A member who joined (or re-joined) after
 * it gets nothing from before their joining: the replay starts at their `joined_seq`.
 */
export function messagesWithReplay(
  services: StreamDeps,
  listeners: ConversationListeners,
  conversation: ConversationRef,
  viewerId: string,
  afterSeq: number | null,
): AsyncIterable<AddedEvent | StreamError> {
  const from = afterSeq === null ? null : Math.max(afterSeq, conversation.joined_seq);
  return new ConversationMessages(services, listeners, conversation, viewerId, from ?? conversation.last_seq, from);
}

/**
 * Who blocked the viewer, kept current by `block` events on the viewer's user topic (listened
 * to before the one read at the start, so a block in between is not missed).
 */
class Blockers {
  private readonly ids = new Set<string>();
  private readonly changed = new Set<string>();
  private readonly unlisten: () => void;
  readonly ready: Promise<void>;

  constructor(services: StreamDeps, viewerId: string) {
    this.unlisten = services.pubSub.listen("USER", viewerId, (ev) => {
      if (ev.type !== "block") return;
      this.changed.add(ev.by);
      if (ev.active) this.ids.add(ev.by);
      else this.ids.delete(ev.by);
    });
    this.ready = services.contacts.blockedBy(viewerId).then((ids) => {
      for (const id of ids) if (!this.changed.has(id.toHexString())) this.ids.add(id.toHexString());
    });
  }

  /** True for typing and receipts of someone who blocked the viewer. */
  hides(ev: ConversationEvent | UserEvent): boolean {
    if (ev.type === "typing") return this.ids.has(ev.typing.userId);
    if (ev.type === "receipt") return this.ids.has(ev.receipt.userId);
    return false;
  }

  close(): void {
    this.unlisten();
  }
}

export interface StreamOptions {
  /** Leave out typing and receipts of users who blocked the viewer (costs one read at the start). */
  hideBlockers?: boolean;
}

/** Every event of one conversation the viewer belongs to, until they lose it (then FORBIDDEN). */
export function conversationEvents(
  services: StreamDeps,
  viewerId: string,
  conversation: ConversationRef,
  options: StreamOptions = {},
): AsyncIterable<ConversationEvent | StreamError> {
  return new Repeater<ConversationEvent | StreamError>(async (push, stop) => {
    const blockers = options.hideBlockers ? new Blockers(services, viewerId) : null;
    const unlisten = services.pubSub.listen("CONVERSATION", conversation._id.toHexString(), (ev) => {
      if (ev.type === "access.revoked") {
        if (!revokes(ev, viewerId)) return;
        void push(new StreamError(forbidden("You are no longer a member of this conversation")));
        stop();
        return;
      }
      if (!blockers?.hides(ev)) void push(ev);
    });
    // Listeners go with the stream even when the start-up read fails.
    try {
      await blockers?.ready;
      await stop;
    } finally {
      unlisten();
      blockers?.close();
    }
  });
}

/** Every event of every conversation the viewer belongs to, following joins, leaves and removals. */
export function viewerEvents(services: StreamDeps, viewerId: string, options: StreamOptions = {}): AsyncIterable<ConversationEvent | UserEvent> {
  return new Repeater<ConversationEvent | UserEvent>(async (push, stop) => {
    const blockers = options.hideBlockers ? new Blockers(services, viewerId) : null;
    const topics = new Map<string, AsyncIterator<unknown>>();
    /** Feeds one topic's events to `onEvent` until the topic's iterator ends. */
    const pump = (iter: AsyncIterator<unknown>, onEvent: (ev: ConversationEvent | UserEvent) => Promise<unknown>) => {
      void (async () => {
        for (;;) {
          const r = await iter.next();
          if (r.done) return;
          await onEvent(r.value as ConversationEvent | UserEvent);
        }
      })().catch(() => undefined);
    };
    const add = (conversationId: string) => {
      if (topics.has(conversationId)) return;
      const iter = services.pubSub.subscribe("CONVERSATION", conversationId)[Symbol.asyncIterator]();
      topics.set(conversationId, iter);
      pump(iter, async (ev) => {
        if (ev.type === "access.revoked") {
          if (revokes(ev as Extract<ConversationEvent, { type: "access.revoked" }>, viewerId)) remove(conversationId);
          return;
        }
        // An event already taken from the topic when the conversation was dropped goes nowhere.
        if (topics.get(conversationId) !== iter || blockers?.hides(ev)) return;
        await push(ev);
      });
    };
    const remove = (conversationId: string) => {
      void topics.get(conversationId)?.return?.();
      topics.delete(conversationId);
    };
    const user = services.pubSub.subscribe("USER", viewerId)[Symbol.asyncIterator]();
    pump(user, async (ev) => {
      if (ev.type === "membership") (ev.member ? add : remove)(ev.conversationId);
      await push(ev);
    });
    // Listeners go with the stream even when a start-up read fails.
    try {
      for (const id of await services.conversations.idsFor(viewerId)) add(id.toHexString());
      await blockers?.ready;
      await stop;
    } finally {
      for (const iter of topics.values()) await iter.return?.();
      await user.return?.();
      blockers?.close();
    }
  });
}

/** Keeps the events a subscription wants (and maps them); stops at once when it ends. */
export function only<T>(
  source: AsyncIterable<ConversationEvent | UserEvent | StreamError>,
  pick: (ev: ConversationEvent | UserEvent) => T | null,
): AsyncIterable<T | StreamError> {
  const it = source[Symbol.asyncIterator]();
  const picked: AsyncIterator<T | StreamError> = {
    async next() {
      for (;;) {
        const r = await it.next();
        if (r.done) return { done: true, value: undefined };
        if (r.value instanceof StreamError) return { done: false, value: r.value };
        const out = pick(r.value);
        if (out !== null) return { done: false, value: out };
      }
    },
  };
  return stoppable(picked, () => it.return?.());
}
