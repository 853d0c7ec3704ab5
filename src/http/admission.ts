/**
 * Admission control for GraphQL over HTTP: past capacity an instance answers at once with
 * 503 + Retry-After instead of queueing work it cannot finish in time (the client's retry,
 * with the same clientMessageId, then goes to a healthier instance or comes back later).
 *
 * Three signals: requests executing at once (a hard cap, MAX_IN_FLIGHT_REQUESTS); the
 * event-loop delay (MAX_EVENT_LOOP_DELAY_MS; a lagging loop answers everything late, so new
 * work only makes every request later); and a standing queue further down (the database):
 * when even the fastest request answered in the last half second took longer than
 * MAX_REQUEST_DELAY_MS (or, with none answered, the oldest one is older) and several are in
 * flight, work is waiting behind work and new requests would only be answered after their clients gave up (the idea
 * of CoDel). And a request whose client already left (fetch
 * timeout, closed tab) is not executed: the client will retry, and running it would do the
 * work twice.
 */
import type http from "node:http";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { ReliabilityConfig } from "../config.js";
import type { AppMetrics } from "./metrics.js";

/** How often the event-loop delay is sampled into a verdict (and the histogram reset). */
const LOOP_WINDOW_MS = 500;

export type Refusal = "in_flight" | "event_loop" | "queue";

export class Admission {
  private inFlight = 0;
  /** Start times of the requests in flight, oldest first (Map keeps insertion order). */
  private readonly started = new Map<number, number>();
  private nextId = 0;
  /** Fastest request answered in the current window (Infinity: none yet). */
  private fastest = Infinity;
  /** The verdict of the last window: a standing queue. */
  private queued = false;
  private readonly loop: IntervalHistogram | null;
  private readonly timer: NodeJS.Timeout;
  /** The loop's p99 delay over the last window, in ms. */
  private loopDelayMs = 0;

  constructor(
    private readonly settings: ReliabilityConfig,
    private readonly metrics: AppMetrics,
  ) {
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
    this.queued = limit > 0 && delay > limit && this.inFlight >= 2;
    this.fastest = Infinity;
  }

  /** Admits a request (call the returned release once it is answered) or says why not. */
  admit(): (() => void) | Refusal {
    if (this.inFlight >= this.settings.maxInFlightRequests) {
      this.metrics.reliability.inc({ action: "shed_in_flight" });
      return "in_flight";
    }
    if (this.loop && this.loopDelayMs > this.settings.maxEventLoopDelayMs) {
      this.metrics.reliability.inc({ action: "shed_event_loop" });
      return "event_loop";
    }
    if (this.queued) {
      this.metrics.reliability.inc({ action: "shed_queue" });
      return "queue";
    }
    this.inFlight += 1;
    const id = this.nextId++;
    const start = performance.now();
    this.started.set(id, start);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      this.started.delete(id);
      this.fastest = Math.min(this.fastest, performance.now() - start);
    };
  }

  /** The 503 of a shed request: a GraphQL-shaped body, so clients read one error format. */
  refuse(res: http.ServerResponse, why: Refusal): void {
    const body = JSON.stringify({
      errors: [{
        message: why === "in_flight" ? "The server is at capacity: retry after the Retry-After delay" : "The server is overloaded: retry after the Retry-After delay",
        extensions: { code: "SERVICE_UNAVAILABLE", reason: why },
      }],
    });
    res.writeHead(503, { "content-type": "application/json; charset=utf-8", "retry-after": String(this.settings.shedRetryAfterSeconds), "content-length": Buffer.byteLength(body) });
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
    this.loop?.disable();
  }
}
