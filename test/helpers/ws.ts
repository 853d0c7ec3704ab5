/**
 * A graphql-ws test client in the manner of graphql-ws's tests/utils/tclient.ts: real
 * WebSockets, each subscription's results queued so a test awaits them one by one.
 */
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface Queued<T> {
  /** The next result, waiting for it (rejects after `timeoutMs`). */
  next(timeoutMs?: number): Promise<T>;
  /** Results received and not yet taken. */
  readonly pending: T[];
  /** An error the server sent for this operation, if any. */
  error: unknown;
  stop(): void;
}

export interface TestWsClient {
  client: Client;
  /** Resolves when the socket closes, with the close code and reason the server sent. */
  closed: Promise<{ code: number; reason: string }>;
  subscribe<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Queued<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }>;
  close(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws") + "/graphql";
}

export async function connectWs(url: string, token?: string): Promise<TestWsClient> {
  let connected!: () => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<void>((res, rej) => {
    connected = res;
    failed = rej;
  });
  let onClosed!: (e: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((res) => (onClosed = res));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: {
      connected: () => connected(),
      closed: (e) => {
        const { code, reason } = e as { code: number; reason: string };
        onClosed({ code, reason: String(reason) });
        failed(e);
      },
    },
    onNonLazyError: (e) => failed(e),
  });
  await ready;
  return {
    client,
    closed,
    subscribe(query, variables) {
      const pending: Array<{ data?: never; errors?: never }> = [];
      const waiters: Array<() => void> = [];
      const q = {
        pending,
        error: undefined as unknown,
        stop: () => undefined as void,
        async next(timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          while (pending.length === 0) {
            if (q.error) throw q.error;
            const left = deadline - Date.now();
            if (left <= 0) throw new Error("timed out waiting for a subscription result");
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, left);
            });
          }
          return pending.shift()!;
        },
      };
      q.stop = client.subscribe(
        { query, variables },
        {
          next: (v) => {
            pending.push(v as never);
            waiters.splice(0).forEach((w) => w());
          },
          error: (e) => {
            q.error = e;
            waiters.splice(0).forEach((w) => w());
          },
          complete: () => undefined,
        },
      );
      return q as never;
    },
    async close() {
      await client.dispose();
    },
  };
}
