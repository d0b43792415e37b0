import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { request } from "undici";
import type { z } from "zod";
import type { AppRouter } from "../api/root";
import type { RoutingListing, RoutingPage } from "../contract/catalog";
import type { KeyResolution, revocationVersionOutput } from "../contract/keys";
import { parseIngestAnswer } from "../usage/ingest-wire";
import type { generationInput, generationOutput, releaseInput, releaseOutput, reportOutput, reserveInput, reserveOutput, UsageEvent } from "../usage/contract";

/**
 * Everything the proxy asks of the backend, and nothing else: it holds no
 * database credentials. Production talks tRPC with the service token
 * (`trpcBackend`); tests can pass an in-process fake. Every answer's type is
 * the contract's schema (server/contract/, server/usage/contract.ts), which the
 * backend enforces with `.output()`.
 */

export type { ActiveKey, KeyResolution } from "../contract/keys";
export type { PriceVersion, RoutingListing } from "../contract/catalog";

export type Backend = {
  /** Every listing the token may route to: all pages of `catalog.routing`. */
  routing(): Promise<RoutingListing[]>;
  resolveKey(secret: string): Promise<KeyResolution>;
  revocationVersion(since?: number): Promise<z.infer<typeof revocationVersionOutput>>;
  reserve(input: z.infer<typeof reserveInput>): Promise<z.infer<typeof reserveOutput>>;
  release(input: z.infer<typeof releaseInput>): Promise<z.infer<typeof releaseOutput>>;
  /** `lines`: the events already serialized (usageEventJson), when the caller has them. */
  report(events: UsageEvent[], lines?: string[]): Promise<z.infer<typeof reportOutput>>;
  generation(input: z.infer<typeof generationInput>): Promise<z.infer<typeof generationOutput>>;
};

/**
 * One usage event as JSON text, exactly what JSON.stringify gives (dates as ISO
 * strings), written out directly: about 3× cheaper, and every request makes one.
 * Ids are UUIDs and status an enum, so nothing here needs escaping (a rare
 * anomaly, with its free-text reason, goes through JSON.stringify). The spool
 * journals this line and the report sends the same text.
 */
export function usageEventJson(e: UsageEvent): string {
  return (
    `{"id":"${e.id}","reservationId":${e.reservationId === null ? "null" : `"${e.reservationId}"`},"keyId":"${e.keyId}","listingId":"${e.listingId}",` +
    `"inputTokens":${e.inputTokens},"outputTokens":${e.outputTokens},"cachedInputTokens":${e.cachedInputTokens},` +
    `"startedAt":"${e.startedAt.toISOString()}","firstTokenAt":${e.firstTokenAt === null ? "null" : `"${e.firstTokenAt.toISOString()}"`},` +
    `"endedAt":"${e.endedAt.toISOString()}","status":"${e.status}","estimated":${e.estimated},"upstreamStatus":${e.upstreamStatus === null ? "null" : e.upstreamStatus}` +
    (e.finishReason != null ? `,"finishReason":"${e.finishReason}"` : "") +
    (e.energyJoules != null ? `,"energyJoules":${e.energyJoules}` : "") +
    (e.anomaly ? `,"anomaly":${JSON.stringify(e.anomaly)}}` : "}")
  );
}

/**
 * Reads `catalog.routing` page after page (each bounded by the backend) into one table. A
 * cursor seen before means the backend is not advancing: fail rather than loop (the cache
 * then keeps its last good table).
 */
export async function readAllRoutingPages(page: (after: string | undefined) => Promise<RoutingPage>): Promise<RoutingListing[]> {
  const all: RoutingListing[] = [];
  const seen = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    all.push(...p.listings);
    if (p.nextCursor === null) return all;
    if (seen.has(p.nextCursor)) throw new Error(`catalog.routing repeated the cursor ${JSON.stringify(p.nextCursor)}`);
    seen.add(p.nextCursor);
    after = p.nextCursor;
  }
}

/** The backend over tRPC (HTTP, superjson), authenticated with the platform's service token. */
export function trpcBackend(url: string, serviceToken: string): Backend {
  const authorization = `Bearer ${serviceToken}`;
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url, transformer: superjson, headers: { authorization } })],
  });
  // Usage is the one call whose size grows with traffic: it goes to the lean ingest path beside the
  // tRPC endpoint (server/usage/ingest-http.ts), the events' JSON lines as they were journalled.
  const report = async (events: UsageEvent[], lines?: string[]) => {
    const res = await request(`${url}/usage.ingest`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: `{"events":[${(lines ?? events.map(usageEventJson)).join(",")}]}`,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`usage.ingest answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return { results: parseIngestAnswer(text) };
  };
  return {
    routing: () => readAllRoutingPages((after) => client.catalog.routing.query(after === undefined ? undefined : { after })),
    resolveKey: (secret) => client.keys.resolve.mutate({ secret }),
    revocationVersion: (since) => client.keys.revocationVersion.query(since === undefined ? undefined : { since }),
    reserve: (input) => client.reservations.reserve.mutate(input),
    release: (input) => client.reservations.release.mutate(input),
    report,
    generation: (input) => client.usage.generation.query(input),
  };
}
