/**
 * Admission control for GraphQL over HTTP: past capacity an instance answers quickly with
 * 503 + Retry-After instead of queueing work it cannot finish in time (the client's retry,
 * with the same clientMessageId, then goes to a healthier instance or comes back later).
 *
 * One gate, the number of requests executing at once, at most MAX_IN_FLIGHT_REQUESTS. Two
 * signals lower that limit (halved each half second while they last, back to the cap as soon
 * as they clear): the event-loop delay (MAX_EVENT_LOOP_DELAY_MS; a lagging loop answers
 * everything late, so more work only makes every request later); and a standing queue further
 * down (the database): when even the fastest request answered in the last half second took
 * longer than MAX_REQUEST_DELAY_MS (or, with none answered, the oldest one is older) and
 * several are in flight, work is waiting behind work (the idea of CoDel).
 *
 * Fairness: a request that finds no free slot waits, up to ADMISSION_QUEUE_MS, in a short line
 * (ADMISSION_QUEUE_SIZE) ordered by age: the first-refusal time of its retry ticket
 * (http/retry-ticket.ts), else its arrival. A freed slot goes to the oldest waiter, a full line
 * refuses its youngest, and a waiter whose time is up gets the 503 with its ticket. Admission
 * at random among retries let an unlucky send lose every draw at 3x capacity; by age, every
 * send becomes the oldest in line some time and gets in.
 *
 * A request whose client already left (fetch timeout, closed tab) is not executed: the client
 * will retry, and running it would do the work twice; one that leaves while waiting leaves the
 * line.
 */
import type http from "node:http";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { ReliabilityConfig } from "../config.js";
import type { AppMetrics } from "./metrics.js";
import { RetryTickets } from "./retry-ticket.js";

/** How often the event-loop delay is sampled into a verdict (and the histogram reset). */
const LOOP_WINDOW_MS = 500;

export type Refusal = "in_flight" | "event_loop" | "queue";

/** A request waiting for a slot. */
interface Waiter {
  /** Its age: the first-refusal time of its ticket, else its arrival (ms since the epoch). */
  readonly at: number;
  /** Arrival order, for equal ages. */
  readonly n: number;
  /** What its 503 carries: the ticket it came with, or one for its arrival. */
  readonly ticket: string;
  readonly res: http.ServerResponse;
  readonly timer: NodeJS.Timeout;
  readonly leave: () => void;
  readonly resolve: (release: (() => void) | null) => void;
}

const older = (a: { at: number; n: number }, b: { at: number; n: number }) => a.at < b.at || (a.at === b.at && a.n < b.n);

export class Admission {
  /** Requests executing at once allowed now: the cap, lowered while a signal lasts. */
  private limit: number;
  /** Why the limit is lowered (null: it is not). */
  private signal: Refusal | null = null;
  /** The waiting line, oldest first. */
  private readonly line: Waiter[] = [];
  private arrivals = 0;
  /** Start times of the requests in flight, oldest first (Map keeps insertion order). */
  private readonly started = new Map<number, number>();

  /** Requests running now (one entry each in `started`). */
  private get inFlight(): number {
    return this.started.size;
  }

  private nextId = 0;
  /** Fastest request answered in the current window (Infinity: none yet). */
  private fastest = Infinity;
  private readonly loop: IntervalHistogram | null;
  private readonly timer: NodeJS.Timeout;
  /** The loop's p99 delay over the last window, in ms. */
  private loopDelayMs = 0;
  private readonly tickets: RetryTickets;

  constructor(
    private readonly settings: ReliabilityConfig,
    private readonly metrics: AppMetrics,
    /** The instances' shared secret (JWT_SECRET): a ticket issued by one is honoured by all. */
    secret: Uint8Array,
  ) {
    this.limit = settings.maxInFlightRequests;
    this.tickets = new RetryTickets(secret);
    if (settings.maxEventLoopDelayMs > 0) {
      this.loop = monitorEventLoopDelay({ resolution: 20 });
      this.loop.enable();
    } else {
      this.loop = null;
    }
    this.timer = setInterval(() => this.window(), LOOP_WINDOW_MS);
    this.timer.unref();
  }

  private window(): void {
    if (this.loop) {
      // The timer itself runs late when the loop lags: that lateness counts too.
      this.loopDelayMs = this.loop.percentile(99) / 1e6;
      this.loop.reset();
    }
    const limit = this.settings.maxRequestDelayMs;
    const oldest = this.started.values().next();
    const delay = this.fastest !== Infinity ? this.fastest : oldest.done ? 0 : performance.now() - oldest.value;
    // A queue is requests waiting behind others: one slow request on a quiet instance is not.
    const queued = limit > 0 && delay > limit && this.inFlight >= 2;
    const lagging = this.loop !== null && this.loopDelayMs > this.settings.maxEventLoopDelayMs;
    this.signal = lagging ? "event_loop" : queued ? "queue" : null;
    // Halve what runs at once while a signal lasts (at least one request still goes through,
    // the oldest waiting); back to the cap as soon as it clears.
    this.limit = this.signal ? Math.max(1, Math.floor(Math.min(this.limit, Math.max(1, this.inFlight)) / 2)) : this.settings.maxInFlightRequests;
    this.fastest = Infinity;
    this.pump();
  }

  /**
   * Admits a request, at once or after waiting its turn: resolves with its release (called
   * when the response closes; callable earlier, once is enough), or null when it was refused
   * (its 503 is already sent) or its client left while waiting.
   */
  admit(req: http.IncomingMessage, res: http.ServerResponse): Promise<(() => void) | null> {
    const arrival = Date.now();
    const auth = req.headers.authorization ?? "";
    const ticketAt = this.tickets.read(req.headers["x-retry-ticket"], auth, arrival);
    if (ticketAt !== null) this.metrics.reliability.inc({ action: "admission_retry_ticket" });
    const me = { at: ticketAt ?? arrival, n: this.arrivals++ };
    if (this.line.length === 0 && this.inFlight < this.limit) return Promise.resolve(this.start(res));
    // Its 503, now or later, carries the ticket it came with (its age stays), else a new one.
    const ticket = ticketAt !== null ? (req.headers["x-retry-ticket"] as string).trim() : this.tickets.issue(arrival, auth);
    const { admissionQueueMs, admissionQueueSize } = this.settings;
    if (admissionQueueMs === 0 || admissionQueueSize === 0) {
      this.refuse(res, this.reason(), ticket);
      return Promise.resolve(null);
    }
    if (this.line.length >= admissionQueueSize) {
      // A full line refuses its youngest: the newcomer, or the youngest waiter if it is older.
      const youngest = this.line[this.line.length - 1];
      if (!older(me, youngest)) {
        this.refuse(res, this.reason(), ticket);
        return Promise.resolve(null);
      }
      this.metrics.reliability.inc({ action: "admission_displaced" });
      this.drop(youngest);
      this.refuse(youngest.res, this.reason(), youngest.ticket);
      youngest.resolve(null);
    }
    this.metrics.reliability.inc({ action: "admission_queued" });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ...me,
        ticket,
        res,
        resolve,
        timer: setTimeout(() => {
          this.drop(waiter);
          this.refuse(res, this.reason(), ticket);
          resolve(null);
        }, admissionQueueMs),
        leave: () => {
          // The client gave up while waiting: out of the line, nothing to answer.
          this.drop(waiter);
          this.metrics.reliability.inc({ action: "client_gone" });
          resolve(null);
        },
      };
      let i = this.line.length;
      while (i > 0 && older(waiter, this.line[i - 1])) i--;
      this.line.splice(i, 0, waiter);
      res.once("close", waiter.leave);
    });
  }

  /** Requests executing and waiting now. */
  get load(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.line.length };
  }

  /** Takes a waiter out of the line (timer and close listener too). */
  private drop(waiter: Waiter): void {
    const i = this.line.indexOf(waiter);
    if (i >= 0) this.line.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.res.off("close", waiter.leave);
  }

  /** Free slots go to the oldest waiters. */
  private pump(): void {
    while (this.line.length > 0 && this.inFlight < this.limit) {
      const next = this.line[0];
      this.drop(next);
      next.resolve(this.start(next.res));
    }
  }

  private reason(): Refusal {
    return this.signal ?? "in_flight";
  }

  /** Takes a slot, given back when the response closes (answered or abandoned), or by the caller. */
  private start(res: http.ServerResponse): () => void {
    const id = this.nextId++;
    const start = performance.now();
    this.started.set(id, start);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.started.delete(id);
      this.fastest = Math.min(this.fastest, performance.now() - start);
      this.pump();
    };
    // Registered here, in the same tick as the slot is taken, so no close can slip between.
    res.once("close", release);
    if (res.destroyed) release();
    return release;
  }

  /** The 503 of a shed request: a GraphQL-shaped body, so clients read one error format, and its retry ticket. */
  private refuse(res: http.ServerResponse, why: Refusal, ticket: string): void {
    this.metrics.reliability.inc({ action: why === "in_flight" ? "shed_in_flight" : why === "event_loop" ? "shed_event_loop" : "shed_queue" });
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({
      errors: [
        {
          message:
            why === "in_flight"
              ? "The server is at capacity: retry after the Retry-After delay"
              : "The server is overloaded: retry after the Retry-After delay",
          extensions: { code: "SERVICE_UNAVAILABLE", reason: why, retryTicket: ticket },
        },
      ],
    });
    res.writeHead(503, {
      "content-type": "application/json; charset=utf-8",
      "retry-after": String(this.settings.shedRetryAfterSeconds),
      "x-retry-ticket": ticket,
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  /**
   * True when the client is gone: its socket closed or half-closed (a client that sends FIN
   * gave up waiting, as nginx also assumes). Counted once per request by the caller.
   */
  static clientGone(req: http.IncomingMessage): boolean {
    const socket = req.socket;
    return socket.destroyed || socket.readableEnded || !socket.writable;
  }

  close(): void {
    clearInterval(this.timer);
    // Waiters of a stopping instance get their 503 now (their retry goes elsewhere).
    for (const waiter of [...this.line]) {
      this.drop(waiter);
      this.refuse(waiter.res, "in_flight", waiter.ticket);
      waiter.resolve(null);
    }
    this.loop?.disable();
  }
}
