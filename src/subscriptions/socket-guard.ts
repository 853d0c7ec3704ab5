/**
 * Dead peers and slow consumers on the graphql-ws endpoint.
 *
 * Dead peers: every WS_PING_INTERVAL_MS each socket gets a WebSocket ping; one that has not
 * answered the previous ping by then is terminated (a client whose machine vanished never
 * sends a FIN, and its subscriptions would otherwise live, and buffer, forever).
 *
 * Slow consumers: a socket whose unsent bytes (ws `bufferedAmount`: ws's queue plus the
 * socket's) stay above WS_MAX_BUFFERED_BYTES for WS_SLOW_CONSUMER_MS is closed with 1013
 * ("try again later"): its client reconnects and resumes with `afterSeq`, nothing is lost,
 * and the server's memory per socket stays bounded. Once closing, ws buffers nothing more.
 */
import type { WebSocket, WebSocketServer } from "ws";
import type { ReliabilityConfig } from "../config.js";
import type { AppMetrics } from "../http/metrics.js";

/** How often buffers are looked at (reading bufferedAmount is cheap). */
const BUFFER_CHECK_MS = 250;
/** A slow consumer that does not complete the close handshake in this time is cut. */
const CLOSE_GRACE_MS = 5000;

interface SocketState {
  alive: boolean;
  /** Since when its buffer has been over the cap (0: it is not). */
  overSince: number;
}

export const SLOW_CONSUMER_CLOSE_CODE = 1013;

export class SocketGuard {
  private readonly sockets = new Map<WebSocket, SocketState>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly bufferTimer: NodeJS.Timeout;

  constructor(
    wsServer: WebSocketServer,
    private readonly settings: ReliabilityConfig,
    private readonly metrics: AppMetrics,
  ) {
    wsServer.on("connection", (socket: WebSocket) => {
      const state: SocketState = { alive: true, overSince: 0 };
      this.sockets.set(socket, state);
      socket.on("pong", () => (state.alive = true));
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.pingTimer = setInterval(() => this.pingAll(), settings.wsPingIntervalMs);
    this.pingTimer.unref();
    this.bufferTimer = setInterval(() => this.checkBuffers(), Math.min(BUFFER_CHECK_MS, Math.max(50, settings.wsSlowConsumerMs / 2)));
    this.bufferTimer.unref();
  }

  private pingAll(): void {
    for (const [socket, state] of this.sockets) {
      if (socket.readyState !== socket.OPEN) continue;
      if (!state.alive) {
        this.metrics.reliability.inc({ action: "ws_dead_peer" });
        socket.terminate();
        continue;
      }
      state.alive = false;
      socket.ping();
    }
  }

  private checkBuffers(): void {
    const now = Date.now();
    for (const [socket, state] of this.sockets) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount <= this.settings.wsMaxBufferedBytes) {
        state.overSince = 0;
        continue;
      }
      state.overSince ||= now;
      if (now - state.overSince < this.settings.wsSlowConsumerMs) continue;
      this.metrics.reliability.inc({ action: "ws_slow_consumer" });
      socket.close(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: reconnect and resume with afterSeq");
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
    }
  }

  stop(): void {
    clearInterval(this.pingTimer);
    clearInterval(this.bufferTimer);
  }
}
