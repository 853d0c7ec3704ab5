/**
 * Live event streams for subscriptions.
 *
 * One conversation, with replay: subscribe to the topic first (events queue up), read every
 * message with seq > afterSeq from the database, then drain the live queue skipping seqs
 * already sent. Concurrent senders can publish out of seq order, so a jump in seq is filled
 * from the database before going on: no message is lost or doubled.
 *
 * All of the viewer's conversations: the topics of every conversation they belong to, plus
 * their user topic, which announces conversations joined or left so the set follows along.
 */
import { Repeater } from "@repeaterjs/repeater";
import type { AppServices } from "../../services.js";
import type { ConversationEvent, UserEvent } from "../../pubsub.js";
import type { ConversationRef } from "./conversation.service.js";
import type { MessageView } from "../message/message.view.js";

/** How long a seq gap may stay open (a sender between its $inc and its insert) before it is skipped. */
const GAP_WAIT_MS = 3000;
const GAP_POLL_MS = 200;

export type AddedEvent = Extract<ConversationEvent, { type: "message.added" }>;

const sleep = (ms: number) => new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref?.());

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
 * subscribers pays no promise chain per hop). Events are released strictly in seq order.
 */
class ConversationMessages implements AsyncIterableIterator<AddedEvent> {
  private readonly ready: AddedEvent[] = [];
  private readonly held = new Map<number, AddedEvent>();
  private waiter: ((r: IteratorResult<AddedEvent>) => void) | null = null;
  private closed = false;
  private filling = false;
  private replaying: boolean;
  private gapSince = 0;
  private gapTimer: NodeJS.Timeout | null = null;
  private readonly unlisten: () => void;

  constructor(
    private readonly services: AppServices,
    private readonly conversation: ConversationRef,
    private last: number,
    replayFrom: number | null,
  ) {
    // Listen before reading the database: nothing published from here on is missed.
    this.unlisten = services.pubSub.listen("CONVERSATION", conversation._id.toHexString(), (ev) => this.onEvent(ev));
    this.replaying = replayFrom !== null;
    if (replayFrom !== null) void this.fill().finally(() => {
      this.replaying = false;
      this.release();
    });
  }

  private onEvent(ev: ConversationEvent): void {
    if (this.closed || ev.type !== "message.added" || ev.message.seq <= this.last) return;
    this.held.set(ev.message.seq, ev);
    this.release();
  }

  /** Moves contiguous held events to the ready queue; opens a gap fill when one is missing. */
  private release(): void {
    if (this.replaying) return;
    while (this.held.has(this.last + 1)) {
      const ev = this.held.get(this.last + 1)!;
      this.held.delete(this.last + 1);
      this.last += 1;
      this.deliver(ev);
    }
    for (const seq of this.held.keys()) if (seq <= this.last) this.held.delete(seq);
    if (this.held.size === 0) {
      this.gapSince = 0;
      return;
    }
    this.gapSince ||= Date.now();
    if (Date.now() - this.gapSince > GAP_WAIT_MS) {
      // A seq that never got a message (a failed send): skip the hole.
      this.last = Math.min(...this.held.keys()) - 1;
      this.gapSince = 0;
      this.release();
      return;
    }
    if (!this.filling) void this.fill().then(() => this.release());
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = null;
      this.release();
    }, GAP_POLL_MS);
  }

  /** Reads the messages after `last` from the database (replay, and seq gaps from concurrent senders). */
  private async fill(): Promise<void> {
    if (this.filling || this.closed) return;
    this.filling = true;
    try {
      const [messages, snapshot] = await Promise.all([
        this.services.messages.after(this.conversation, this.last),
        this.services.conversations.snapshot(this.conversation._id),
      ]);
      if (!snapshot) return;
      for (const message of messages) {
        if (message.seq <= this.last) continue;
        if (!this.held.has(message.seq)) this.held.set(message.seq, { type: "message.added", message, conversation: snapshot });
      }
      // Replay is over once the database has been read: release in order from here.
      this.replaying = false;
      while (this.held.has(this.last + 1)) {
        const ev = this.held.get(this.last + 1)!;
        this.held.delete(this.last + 1);
        this.last += 1;
        this.deliver(ev);
      }
    } finally {
      this.filling = false;
    }
  }

  private deliver(ev: AddedEvent): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ done: false, value: ev });
    } else this.ready.push(ev);
  }

  next(): Promise<IteratorResult<AddedEvent>> {
    if (this.ready.length) return Promise.resolve({ done: false, value: this.ready.shift()! });
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<AddedEvent>> {
    this.closed = true;
    this.unlisten();
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.waiter?.({ done: true, value: undefined });
    this.waiter = null;
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<AddedEvent> {
    return this;
  }
}

export function messagesWithReplay(services: AppServices, conversation: ConversationRef, afterSeq: number | null): AsyncIterable<AddedEvent> {
  return new ConversationMessages(services, conversation, afterSeq ?? conversation.last_seq, afterSeq);
}

/** Every event of every conversation the viewer belongs to, following joins and leaves. */
export function viewerEvents(services: AppServices, viewerId: string): AsyncIterable<ConversationEvent | UserEvent> {
  return new Repeater<ConversationEvent | UserEvent>(async (push, stop) => {
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
      pump(iter, (ev) => push(ev));
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
    for (const id of await services.conversations.idsFor(viewerId)) add(id.toHexString());
    await stop;
    for (const iter of topics.values()) await iter.return?.();
    await user.return?.();
  });
}

/** Keeps the events a subscription wants (and maps them); stops at once when it ends. */
export function only<T>(source: AsyncIterable<ConversationEvent | UserEvent>, pick: (ev: ConversationEvent | UserEvent) => T | null): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  const picked: AsyncIterator<T> = {
    async next() {
      for (;;) {
        const r = await it.next();
        if (r.done) return { done: true, value: undefined };
        const out = pick(r.value);
        if (out !== null) return { done: false, value: out };
      }
    },
  };
  return stoppable(picked, () => it.return?.());
}
