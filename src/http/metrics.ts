/**
 * Prometheus metrics (prom-client), one registry per server instance: tests start several
 * servers in one process, and prom-client's global registry would mix their counts. Hot paths
 * (event fan-out) only touch counters and a WeakMap lookup; nothing is allocated per delivery.
 */
import type http from "node:http";
import { timingSafeEqual } from "node:crypto";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PublishTimeLookup } from "../common/publish-times.js";

/** Operation names are chosen by clients: past this many distinct ones, the rest count as "other". */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type ReliabilityAction =
  | "shed_in_flight"
  | "shed_event_loop"
  | "shed_queue"
  | "client_gone"
  | "ws_dead_peer"
  | "ws_slow_consumer"
  // Fair admission (http/admission.ts): a request waited for a slot; one came with a valid retry ticket; a waiter gave its place to an older retry.
  | "admission_queued"
  | "admission_retry_ticket"
  | "admission_displaced";

export type HttpOutcome = "success" | "graphql_error" | "client_error" | "server_error";

export class AppMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"route" | "operation" | "outcome">;
  readonly httpDuration: Histogram<"route" | "operation" | "outcome">;
  readonly graphqlErrors: Counter<"code" | "transport">;
  readonly wsOpen: Gauge;
  readonly subscriptionsActive: Gauge<"field">;
  readonly eventsPublished: Counter<"topic">;
  readonly eventsDelivered: Counter<"kind">;
  readonly deliveryLatency: Histogram<"kind">;
  readonly dbCommandDuration: Histogram<"command" | "outcome">;
  readonly rateLimited: Counter<"transport">;
  /** Admission control and dead-peer detection at work (README "Reliability"). */
  readonly reliability: Counter<"action">;
  private readonly operationNames = new Set<string>();
  /** The publish stamps of live events (set by the pubsub, see common/publish-times.ts). */
  private publishTimes: PublishTimeLookup | null = null;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "letsapp_process_" });
    this.httpRequests = new Counter({
      name: "letsapp_http_requests_total",
      help: "HTTP requests by route, GraphQL operation name and outcome",
      labelNames: ["route", "operation", "outcome"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "letsapp_http_request_duration_seconds",
      help: "HTTP request latency by route, GraphQL operation name and outcome",
      labelNames: ["route", "operation", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.graphqlErrors = new Counter({
      name: "letsapp_graphql_errors_total",
      help: "GraphQL errors sent to clients, by code and transport (http, ws)",
      labelNames: ["code", "transport"],
      registers,
    });
    this.wsOpen = new Gauge({ name: "letsapp_websockets_open", help: "Open WebSocket connections", registers });
    this.subscriptionsActive = new Gauge({
      name: "letsapp_subscriptions_active",
      help: "Active GraphQL subscriptions by root field",
      labelNames: ["field"],
      registers,
    });
    this.eventsPublished = new Counter({
      name: "letsapp_events_published_total",
      help: "Live events published by this instance, by topic",
      labelNames: ["topic"],
      registers,
    });
    this.eventsDelivered = new Counter({
      name: "letsapp_events_delivered_total",
      help: "Subscription results written to WebSockets, by event kind (message.added, receipt, typing, presence, call.updated…; other: replayed history, stream errors)",
      labelNames: ["kind"],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: "letsapp_event_delivery_seconds",
      help: "Time from publish (on any instance) to the subscription result being handed to the socket, by event kind",
      labelNames: ["kind"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.dbCommandDuration = new Histogram({
      name: "letsapp_db_command_duration_seconds",
      help: "MongoDB command latency by command name and outcome",
      labelNames: ["command", "outcome"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.rateLimited = new Counter({
      name: "letsapp_rate_limit_refusals_total",
      help: "Requests refused with RATE_LIMITED",
      labelNames: ["transport"],
      registers,
    });
    this.reliability = new Counter({
      name: "letsapp_reliability_actions_total",
      help: "Requests shed (shed_in_flight, shed_event_loop, shed_queue) or dropped because their client left (client_gone); sockets closed as dead (ws_dead_peer) or too slow (ws_slow_consumer)",
      labelNames: ["action"],
      registers,
    });
  }

  /** How often an admission or dead-peer action was taken (tests read it). */
  async reliabilityCount(action: ReliabilityAction): Promise<number> {
    const m = await this.reliability.get();
    return m.values.find((v) => v.labels.action === action)?.value ?? 0;
  }

  /** A bounded label for a client-chosen operation name. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (this.operationNames.has(name)) return name;
    if (!OPERATION_NAME.test(name) || this.operationNames.size >= MAX_OPERATION_NAMES) return "other";
    this.operationNames.add(name);
    return name;
  }

  observeHttp(route: string, operation: string, outcome: HttpOutcome, seconds: number): void {
    this.httpRequests.inc({ route, operation, outcome });
    this.httpDuration.observe({ route, operation, outcome }, seconds);
  }

  /** Counts a GraphQL error sent to a client (and RATE_LIMITED refusals on their own). */
  graphqlError(code: string, transport: "http" | "ws"): void {
    this.graphqlErrors.inc({ code, transport });
    if (code === "RATE_LIMITED") this.rateLimited.inc({ transport });
  }

  /** One subscription result handed to a socket, with its publish → write latency when it comes from a live event. */
  delivered(event: unknown): void {
    const stamp = this.publishTimes?.publishedAt(event);
    if (!stamp) {
      this.eventsDelivered.inc({ kind: "other" });
      return;
    }
    this.eventsDelivered.inc({ kind: stamp.kind });
    this.deliveryLatency.observe({ kind: stamp.kind }, Math.max(0, performance.now() - stamp.at) / 1000);
  }

  /** Counts every publish by topic; delivery latency reads the pubsub's publish stamps. */
  instrumentPubSub<P extends { publish: (...args: never[]) => unknown } & PublishTimeLookup>(pubSub: P): void {
    const publish = pubSub.publish.bind(pubSub) as (key: string, ...args: unknown[]) => unknown;
    (pubSub as { publish: unknown }).publish = (key: string, ...args: unknown[]) => {
      this.eventsPublished.inc({ topic: key });
      return publish(key, ...args);
    };
    this.publishTimes = pubSub;
  }

  /** Times every driver command (needs `monitorCommands` on the connection). */
  instrumentMongo(client: { on(event: string, fn: (e: never) => void): unknown; off(event: string, fn: (e: never) => void): unknown }): () => void {
    const ok = (e: { commandName: string; duration: number }) => this.dbCommandDuration.observe({ command: e.commandName, outcome: "ok" }, e.duration / 1000);
    const failed = (e: { commandName: string; duration: number }) =>
      this.dbCommandDuration.observe({ command: e.commandName, outcome: "error" }, e.duration / 1000);
    client.on("commandSucceeded", ok as never);
    client.on("commandFailed", failed as never);
    return () => {
      client.off("commandSucceeded", ok as never);
      client.off("commandFailed", failed as never);
    };
  }
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** GET /metrics: the Prometheus text format; with METRICS_TOKEN only for `Authorization: Bearer <token>`. */
export async function serveMetrics(metrics: AppMetrics, token: string | null, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (token !== null) {
    const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    if (!sameToken(given, token)) {
      res.writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Bearer realm="metrics"' });
      res.end("metrics require METRICS_TOKEN as a bearer token\n");
      return;
    }
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
  res.end(body);
}
