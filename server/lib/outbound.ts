import dns from "node:dns";
import net from "node:net";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { env } from "../env";
import { outboundPolicyFrom, outboundRefusal, type OutboundPolicy } from "./outbound-policy";

/** The connection side of the outbound policy (./outbound-policy.ts): one undici dispatcher for every upstream call. */

export class OutboundRefused extends Error {
  readonly code = "E_OUTBOUND_REFUSED";
}

type LookupAll = (hostname: string, cb: (err: Error | null, addresses: { address: string; family: number }[]) => void) => void;
const systemLookup: LookupAll = (hostname, cb) => dns.lookup(hostname, { all: true }, (err, addresses) => cb(err, addresses ?? []));

/**
 * An undici connector that resolves the host itself, checks the address, and
 * connects to exactly that address (TLS still verifies the name). `lookup` is
 * replaceable for tests (a name that resolves to loopback).
 */
export function policedConnector(policy: OutboundPolicy, lookup: LookupAll = systemLookup): buildConnector.connector {
  const connect = buildConnector({});
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === "https:" ? 443 : 80);
    const hostname = opts.hostname.replace(/^\[|\]$/g, "");
    const go = (address: string) => {
      const refusal = outboundRefusal(hostname, address, port, policy);
      if (refusal) return callback(new OutboundRefused(`${hostname} ${refusal}`), null);
      // The name stays the TLS server name; only the address to dial is pinned.
      connect({ ...opts, hostname: address, servername: opts.servername ?? (net.isIP(hostname) ? undefined : hostname) }, callback);
    };
    if (net.isIP(hostname)) return go(hostname);
    lookup(hostname, (err, addresses) => {
      if (err || addresses.length === 0) return callback(err ?? new Error(`${hostname} does not resolve`), null);
      // Every address the name has must pass: otherwise which one is dialled would decide.
      for (const a of addresses) {
        const refusal = outboundRefusal(hostname, a.address, port, policy);
        if (refusal) return callback(new OutboundRefused(`${hostname} ${refusal}`), null);
      }
      go(addresses[0]!.address);
    });
  };
}

/** The dispatcher every upstream call goes through. undici follows no redirects unless asked to; none is. */
export function outboundAgent(policy: OutboundPolicy, opts: Agent.Options = {}, lookup?: LookupAll): Agent {
  return new Agent({ ...opts, connect: policedConnector(policy, lookup) });
}

/** The first `maxBytes` of an upstream body as text (the rest is dropped with the connection). Never throws. */
export async function readCapped(body: Dispatcher.ResponseData["body"], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body) {
      chunks.push(c as Buffer);
      size += (c as Buffer).length;
      if (size >= maxBytes) break;
    }
  } catch {
    // A broken error body says nothing more than its status.
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}

let shared: Agent | null = null;
/** This process's dispatcher for upstream calls, under the policy the environment sets (test connection uses it). */
export function upstreamDispatcher(): Agent {
  shared ??= outboundAgent(outboundPolicyFrom(env()), { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return shared;
}
