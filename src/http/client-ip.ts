/**
 * The client's address for per-IP limits and logs. X-Forwarded-For is believed only when
 * TRUST_PROXY says which peers are our proxies (a hop count or their addresses); otherwise
 * anyone could pick their own IP and walk around every per-IP limit. proxy-addr (Express's
 * implementation) walks the header from the nearest hop, stopping at the first untrusted one.
 */
import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";

export type ClientIp = (req: IncomingMessage) => string;

export function clientIpResolver(trustProxy: number | string[] | null): ClientIp {
  if (trustProxy === null) return (req) => normalize(req.socket.remoteAddress);
  // A hop count trusts the nearest n addresses, whatever they are (as Express does).
  const trust = typeof trustProxy === "number" ? (_addr: string, hop: number) => hop < trustProxy : proxyaddr.compile(trustProxy);
  return (req) => {
    // proxy-addr needs a socket address; a destroyed socket has none.
    if (!req.socket.remoteAddress) return "unknown";
    return normalize(proxyaddr(req, trust));
  };
}

/** One spelling per address: "::ffff:1.2.3.4" and "1.2.3.4" share their limits. */
function normalize(ip: string | undefined): string {
  if (!ip) return "unknown";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
