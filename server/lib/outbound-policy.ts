import net from "node:net";
import os from "node:os";
import ipaddr from "ipaddr.js";

/**
 * The one policy for connections to provider upstreams (the proxy's requests and
 * the web app's "Test connection"): a listing's base URL is the provider's choice,
 * so it must not reach this platform's own services or its private network.
 * The address is checked after DNS resolution, on the very address the socket
 * connects to (a name that resolves to a public address once and to 127.0.0.1
 * the next time gets nowhere), once per connection, never per request.
 */

export type OutboundPolicy = {
  /** `host:port` pairs (a name or an address; IPv6 in brackets) that may be private: local upstreams. */
  allowPrivate: ReadonlySet<string>;
  /** Ports this platform listens on (web app, proxy, database): refused on any private or own address, listed or not. */
  ownPorts: ReadonlySet<number>;
};

/** Parses `UPSTREAM_ALLOW_PRIVATE`: comma-separated `host:port`; throws naming the bad entry. */
export function parseAllowPrivate(text: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const raw of (text ?? "").split(",")) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`"${raw.trim()}" is not host:port (IPv6 in brackets: [::1]:8790)`);
    const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
    out.add(`${net.isIP(host) ? ipaddr.process(host).toString() : host}:${port}`);
  }
  return out;
}

let ownAddresses: Set<string> | null = null;
/** This host's own interface addresses (a public address of this machine is as inside as 127.0.0.1). */
function isOwnAddress(addr: string): boolean {
  ownAddresses ??= new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .map((i) => (i ? ipaddr.process(i.address.split("%")[0]!).toString() : "")),
  );
  return ownAddresses.has(addr);
}

/**
 * Why connecting to `address:port` (reached through `hostname`) is refused, or null.
 * Only global unicast addresses pass: loopback, RFC 1918, ULA, link-local (cloud
 * metadata at 169.254.169.254 included), CGNAT, multicast, unspecified, reserved and
 * the IPv6 forms that embed an IPv4 address are refused unless listed.
 */
export function outboundRefusal(hostname: string, address: string, port: number, policy: OutboundPolicy): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address.split("%")[0]!);
  } catch {
    return `resolves to an address that is not valid (${address})`;
  }
  const addr = ip.toString();
  const inside = ip.range() !== "unicast" || isOwnAddress(addr);
  if (!inside) return null;
  if (policy.ownPorts.has(port)) return `resolves to a private address (${addr}) on one of this platform's own ports (${port})`;
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (policy.allowPrivate.has(`${host}:${port}`) || policy.allowPrivate.has(`${addr}:${port}`)) return null;
  return `resolves to a private address (${addr}); list ${host}:${port} in UPSTREAM_ALLOW_PRIVATE to allow it`;
}

/** The policy from the environment: UPSTREAM_ALLOW_PRIVATE, and the ports this platform listens on (its database's too). */
export function outboundPolicyFrom(e: {
  UPSTREAM_ALLOW_PRIVATE: Set<string>;
  PORT: number;
  GATEWAY_PORT: number;
  PG_PORT: number;
  DATABASE_URL?: string;
}): OutboundPolicy {
  const ownPorts = new Set([e.PORT, e.GATEWAY_PORT, e.PG_PORT]);
  if (e.DATABASE_URL) ownPorts.add(Number(new URL(e.DATABASE_URL).port || 5432));
  return { allowPrivate: e.UPSTREAM_ALLOW_PRIVATE, ownPorts };
}
