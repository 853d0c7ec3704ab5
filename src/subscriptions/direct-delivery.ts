/**
 * Fan-out without per-subscriber work: a subscription whose document selects nothing
 * viewer-specific, on a source that can push (a conversation's message stream), writes each
 * event as ONE serialized payload shared by every subscriber of the same document and
 * variables. graphql-ws would take each event through an async iterator, a promise chain and
 * a JSON.stringify of the whole message per subscriber; here, per subscriber and event, there
 * is one lookup of the shared frame and one string concatenation (only the subscription id
 * differs) handed to the socket.
 *
 * Order: a subscriber's frames are written in the order its source released the events. A
 * frame whose execution has not finished (an async field) holds that subscriber's later
 * frames behind it; the subscriber waits on the frame (in its list, no promise of its own).
 *
 * graphql-ws still owns the subscription: it gets an iterator that yields nothing and ends
 * when the source ends (FORBIDDEN written first), so its Complete message and its clean-up
 * on Complete or on close work as for any subscription.
 */
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from "graphql";
import type { WebSocket } from "ws";
import { StreamError } from "./stream-error.js";

/** A source that can hand its items straight to a sink instead of being iterated. */
export interface DirectSource<T> {
  /** From now on every item goes to `sink.push` (items already held first); `sink.end` once it ends. */
  attach(sink: DirectSink<T>): void;
  return(): Promise<IteratorResult<T>>;
}

export interface DirectSink<T> {
  push(item: T): void;
  end(): void;
}

export function isDirectSource(value: unknown): value is DirectSource<unknown> {
  return typeof (value as { attach?: unknown } | null)?.attach === "function";
}

/** Where a subscription's results go: its socket and the subscription id the client chose. */
export interface DeliveryTarget {
  socket: WebSocket;
  id: string;
}

/** What the endpoint does with results, as graphql-ws's hooks would. */
export interface DeliveryHooks {
  /** Errors as clients see them (the same formatting as HTTP). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Errors sent over a socket (metrics, logs). */
  errors: (socket: WebSocket, id: string, errors: readonly GraphQLError[]) => void;
  /** Each event whose result was handed to the socket (metrics). */
  delivered: (event: unknown) => void;
  /** A subscriber's write that threw: logged once; the frame's other subscribers still get it. */
  failed: (err: unknown) => void;
}

/**
 * Subscriptions with the same document, variables and operation name: their frames are shared.
 * Counted, so the table of shapes holds only those with a live subscriber.
 */
export interface Shape {
  readonly key: string;
  refs: number;
}

/** One event's `next` payload for one shape, serialized once. */
class Frame {
  /** The JSON of the payload (null while the execution runs). */
  json: string | null = null;
  /** Errors in it, for the errors hook (null: none). */
  errors: readonly GraphQLError[] | null = null;
  /** Subscribers whose next frame to write is this one, while it is not ready. */
  waiting: FrameSubscription[] = [];

  constructor(readonly event: unknown) {}

  settle(result: ExecutionResult, hooks: DeliveryHooks): void {
    this.json = payloadJson(result, hooks);
    this.errors = result.errors?.length ? result.errors : null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const sub of waiting) {
      try {
        sub.drain();
      } catch (err) {
        // Logged, not rethrown: an uncaught throw would take the process (and every socket) down.
        hooks.failed(err);
      }
    }
  }
}

/** The payload as graphql-ws would send it after our onNext hook: errors formatted. */
function payloadJson(result: ExecutionResult, hooks: DeliveryHooks): string {
  if (!result.errors?.length) return JSON.stringify(result);
  return JSON.stringify({ ...result, errors: result.errors.map((e) => hooks.formatError(e.toJSON(), e)) });
}

/** The frames of events, per shape; weak by event, so they go with it. */
export class FrameTable {
  private readonly frames = new WeakMap<object, Map<Shape, Frame>>();
  private readonly shapes = new Map<string, Shape>();

  constructor(
    private readonly hooks: DeliveryHooks,
    /** Executes the document for one event (once per event and shape). */
    private readonly run: (event: object, args: unknown) => ExecutionResult | Promise<ExecutionResult>,
  ) {}

  shape(key: string): Shape {
    let shape = this.shapes.get(key);
    if (!shape) this.shapes.set(key, (shape = { key, refs: 0 }));
    shape.refs++;
    return shape;
  }

  release(shape: Shape): void {
    if (--shape.refs === 0 && this.shapes.get(shape.key) === shape) this.shapes.delete(shape.key);
  }

  /** The frame of `event` for `sub`'s shape; the first subscriber to ask starts its execution. */
  frameFor(event: object, sub: FrameSubscription): Frame {
    let byShape = this.frames.get(event);
    if (!byShape) this.frames.set(event, (byShape = new Map()));
    let frame = byShape.get(sub.shape);
    if (frame) return frame;
    frame = new Frame(event);
    byShape.set(sub.shape, frame);
    this.start(frame, event, sub.args);
    return frame;
  }

  /** A frame for this subscriber alone (a stream error). */
  errorFrame(error: GraphQLError): Frame {
    const frame = new Frame(error);
    frame.settle({ errors: [error] }, this.hooks);
    return frame;
  }

  private start(frame: Frame, event: object, args: unknown): void {
    let result: ExecutionResult | Promise<ExecutionResult>;
    try {
      result = this.run(event, args);
    } catch (err) {
      result = internalError(err);
    }
    if (!(result instanceof Promise)) return frame.settle(result, this.hooks);
    result.then(
      (r) => frame.settle(r, this.hooks),
      (err: unknown) => frame.settle(internalError(err), this.hooks),
    );
  }

  get hooksOf(): DeliveryHooks {
    return this.hooks;
  }
}

function internalError(err: unknown): ExecutionResult {
  const original = err instanceof Error ? err : new Error(String(err));
  return { errors: [new GraphQLError(original.message, { originalError: original })] };
}

/**
 * One subscription delivered directly: the sink its source pushes to, and the iterator
 * graphql-ws holds (it yields nothing; it ends when the source has ended and every frame
 * before the end is written, or when graphql-ws returns it).
 */
export class FrameSubscription implements DirectSink<unknown>, AsyncIterableIterator<ExecutionResult> {
  /** Frames released but not yet written (the first is not ready). Usually empty. */
  private queue: Frame[] | null = null;
  private ending = false;
  private done = false;
  private waiter: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
  /** The frame up to its payload: `{"id":"…","type":"next","payload":`. */
  private readonly head: string;

  constructor(
    private readonly table: FrameTable,
    readonly shape: Shape,
    /** The operation's execution arguments (a frame runs with the first asker's). */
    readonly args: unknown,
    private readonly target: DeliveryTarget,
    private readonly source: DirectSource<unknown>,
  ) {
    this.head = `{"id":${JSON.stringify(target.id)},"type":"next","payload":`;
    source.attach(this);
  }

  push(item: unknown): void {
    if (this.done) return;
    if (item instanceof StreamError) {
      // The viewer lost the stream: nothing held is sent, the error is, then the end.
      if (this.queue) this.unwait();
      this.queue = null;
      this.write(this.table.errorFrame(item.error));
      return;
    }
    if (item === null || typeof item !== "object") return;
    const frame = this.table.frameFor(item, this);
    if (this.queue === null && frame.json !== null) return this.write(frame);
    if (this.queue === null) {
      this.queue = [frame];
      frame.waiting.push(this);
    } else this.queue.push(frame);
  }

  end(): void {
    this.ending = true;
    if (this.queue === null) this.finish();
  }

  /** Writes the ready frames at the head of the queue; waits on the first that is not. */
  drain(): void {
    const queue = this.queue;
    if (this.done || queue === null) return;
    let i = 0;
    while (i < queue.length && queue[i].json !== null) this.write(queue[i++]);
    if (i === queue.length) {
      this.queue = null;
      if (this.ending) this.finish();
      return;
    }
    queue.splice(0, i);
    queue[0].waiting.push(this);
  }

  private write(frame: Frame): void {
    const { socket, id } = this.target;
    if (socket.readyState !== socket.OPEN) return;
    socket.send(this.head + frame.json! + "}");
    const hooks = this.table.hooksOf;
    if (frame.errors) hooks.errors(socket, id, frame.errors);
    hooks.delivered(frame.event);
  }

  /** Leaves the waiting list of the frame at the head of the queue. */
  private unwait(): void {
    const head = this.queue?.[0];
    if (!head) return;
    const at = head.waiting.indexOf(this);
    if (at >= 0) head.waiting.splice(at, 1);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.table.release(this.shape);
    this.waiter?.({ done: true, value: undefined });
    this.waiter = null;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** graphql-ws ends the subscription (Complete from the client, the socket closed). */
  return(): Promise<IteratorResult<ExecutionResult>> {
    if (this.queue) this.unwait();
    this.queue = null;
    this.finish();
    void this.source.return();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}
