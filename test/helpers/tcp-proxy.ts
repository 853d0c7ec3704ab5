/**
 * A TCP proxy a test controls, to cut a dependency (Redis) away from the API and bring it
 * back: `down()` drops every connection and refuses new ones, `up()` accepts again.
 * Used by the Redis outage test and the fault-injection harness (test/faults).
 */
import net from "node:net";

export interface TcpProxy {
  /** The proxy's address as a URL of the target's scheme and path (e.g. redis://127.0.0.1:PORT/2). */
  url: string;
  port: number;
  /** Drops every connection and refuses new ones (accepted, then closed at once). */
  down(): void;
  up(): void;
  /** Client connections open through the proxy now. */
  open(): number;
  /** Connections refused since the last down(): the clients' reconnect attempts. */
  refused(): number;
  close(): Promise<void>;
}

/** A proxy in front of `targetUrl` (any URL with a host and port, e.g. a redis:// URL). */
export async function startTcpProxy(targetUrl: string, defaultPort = 6379): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let refusing = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      refused++;
      return client.destroy();
    }
    const upstream = net.connect(Number(target.port || defaultPort), target.hostname);
    clients.add(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => {
        sockets.delete(s);
        clients.delete(s);
      });
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${target.protocol}//127.0.0.1:${port}${target.pathname}`,
    port,
    down() {
      refusing = true;
      refused = 0;
      for (const s of sockets) s.destroy();
    },
    up() {
      refusing = false;
    },
    open: () => clients.size,
    refused: () => refused,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
