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

export function messagesWithReplay(services: AppServices, conversation: ConversationRef, afterSeq: number | null): AsyncIterable<AddedEvent> {
  const live = services.pubSub.subscribe("CONVERSATION", conversation._id.toHexString())[Symbol.asyncIterator]();
  // Calling next() now starts listening: nothing published from here on is missed.
  const first = live.next();
  return stoppable(replayThenLive(services, conversation, afterSeq, live, first), () => live.return?.());
}

async function* replayThenLive(
  services: AppServices,
  conversation: ConversationRef,
  afterSeq: number | null,
  live: AsyncIterator<unknown>,
  first: Promise<IteratorResult<unknown>>,
): AsyncGenerator<AddedEvent> {
  let pending = first;
  let last = afterSeq ?? conversation.last_seq;
  const held = new Map<number, AddedEvent>();
  // Messages read from the database carry the conversation as it is now (one read per batch).
  const fromDb = async (): Promise<AddedEvent[]> => {
    const [messages, snapshot] = await Promise.all([services.messages.after(conversation, last), services.conversations.snapshot(conversation._id)]);
    return snapshot ? messages.map((message: MessageView) => ({ type: "message.added" as const, message, conversation: snapshot })) : [];
  };
  try {
    if (afterSeq !== null) {
      for (const ev of await fromDb()) {
        if (ev.message.seq !== last + 1) break;
        last = ev.message.seq;
        yield ev;
      }
    }
    let gapSince = 0;
    for (;;) {
      const next = held.size ? await Promise.race([pending, sleep(GAP_POLL_MS)]) : await pending;
      if (next !== "timeout") {
        if (next.done) return;
        pending = live.next();
        const ev = next.value as ConversationEvent;
        if (ev.type !== "message.added" || ev.message.seq <= last) continue;
        held.set(ev.message.seq, ev);
      }
      // Emit what is contiguous; fill a gap from the database.
      while (held.has(last + 1)) {
        const ev = held.get(last + 1)!;
        held.delete(last + 1);
        last += 1;
        yield ev;
      }
      if (held.size === 0) {
        gapSince = 0;
        continue;
      }
      for (const ev of await fromDb()) {
        if (ev.message.seq !== last + 1) break;
        held.delete(ev.message.seq);
        last = ev.message.seq;
        yield ev;
      }
      while (held.has(last + 1)) {
        const ev = held.get(last + 1)!;
        held.delete(last + 1);
        last += 1;
        yield ev;
      }
      if (held.size === 0) {
        gapSince = 0;
        continue;
      }
      gapSince ||= Date.now();
      if (Date.now() - gapSince > GAP_WAIT_MS) {
        // A seq that never got a message (a failed send): skip the hole.
        last = Math.min(...held.keys()) - 1;
        gapSince = 0;
      }
    }
  } finally {
    await live.return?.();
  }
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
