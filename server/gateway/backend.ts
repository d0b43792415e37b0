import { createTRPCClient, httpLink, type TRPCClient } from "@trpc/client";
import superjson from "superjson";
import type { z } from "zod";
import type { AppRouter } from "../api/root";
import type { PricesPer1k } from "../ledger/money";
import type {
  generationInput,
  generationOutput,
  releaseInput,
  releaseOutput,
  reportOutput,
  reserveInput,
  reserveOutput,
  UsageEvent,
} from "../usage/contract";

/**
 * Everything the proxy asks of the backend, and nothing else: it holds no
 * database credentials. Production talks tRPC with the service token
 * (`trpcBackend`); tests can pass an in-process fake.
 */

export type PriceVersion = PricesPer1k & { effectiveFrom: Date };

/** One published listing as `catalog.routing` returns it (credentials decrypted). */
export type RoutingListing = {
  listingId: string;
  slug: string;
  orgId: string;
  orgSlug: string;
  family: string;
  modalities: string[];
  contextLength: number;
  upstreamBaseUrl: string;
  upstreamModel: string;
  upstreamCredential: string | null;
  tokensPerWatt: number | null;
  currentPrice: PriceVersion;
  scheduledPrices: PriceVersion[];
};

export type KeyResolution =
  | { status: "unknown" }
  | { status: "revoked" | "expired"; keyId: string; orgId: string }
  | {
      status: "active";
      keyId: string;
      orgId: string;
      validUntil: Date | null;
      spendLimitNano: bigint | null;
      limitPeriod: string | null;
      periodStart: Date | null;
      periodEnd: Date | null;
      currentPeriodSpendNano: bigint;
      modelAllowlist: string[];
      rpmLimit: number | null;
      tpmLimit: number | null;
    };

export type ActiveKey = Extract<KeyResolution, { status: "active" }>;

export type Backend = {
  routing(): Promise<RoutingListing[]>;
  resolveKey(secret: string): Promise<KeyResolution>;
  revocationVersion(since?: number): Promise<{ version: number; changedKeyIds: string[] | null }>;
  reserve(input: z.infer<typeof reserveInput>): Promise<z.infer<typeof reserveOutput>>;
  release(input: z.infer<typeof releaseInput>): Promise<z.infer<typeof releaseOutput>>;
  report(events: UsageEvent[]): Promise<z.infer<typeof reportOutput>>;
  generation(input: z.infer<typeof generationInput>): Promise<z.infer<typeof generationOutput>>;
};

/**
 * The settlement procedures (`reservations.*`, `usage.*`) are built on another
 * branch against server/usage/contract.ts; until they are in AppRouter this one
 * spot types the client loosely, and the contract's zod schemas type the results.
 */
type LooseProcedures = {
  reservations: {
    reserve: { mutate(input: z.infer<typeof reserveInput>): Promise<z.infer<typeof reserveOutput>> };
    release: { mutate(input: z.infer<typeof releaseInput>): Promise<z.infer<typeof releaseOutput>> };
  };
  usage: {
    report: { mutate(input: { events: UsageEvent[] }): Promise<z.infer<typeof reportOutput>> };
    generation: { query(input: z.infer<typeof generationInput>): Promise<z.infer<typeof generationOutput>> };
  };
};

/** A `usage.report` input, marked so the transformer can encode it without walking it. */
class ReportPayload {
  constructor(readonly events: UsageEvent[]) {}
}

/**
 * superjson's wire format for a report, written directly: usage events are
 * flat records whose only non-JSON values are three dates, and superjson's
 * generic walk over thousands of them per batch was the proxy's largest
 * off-request CPU cost. The backend decodes it with plain superjson
 * (backend.test.ts proves the round trip).
 */
export function encodeReport(events: UsageEvent[]) {
  const values: Record<string, ["Date"]> = {};
  const date: ["Date"] = ["Date"];
  const json = events.map((e, i) => {
    values[`events.${i}.startedAt`] = date;
    values[`events.${i}.endedAt`] = date;
    if (e.firstTokenAt) values[`events.${i}.firstTokenAt`] = date;
    return { ...e, startedAt: e.startedAt.toISOString(), endedAt: e.endedAt.toISOString(), firstTokenAt: e.firstTokenAt ? e.firstTokenAt.toISOString() : null };
  });
  return { json: { events: json }, meta: { values, v: 1 } };
}

const transformer = {
  serialize: (value: unknown) => (value instanceof ReportPayload ? encodeReport(value.events) : superjson.serialize(value)),
  deserialize: (value: unknown) => superjson.deserialize(value as Parameters<typeof superjson.deserialize>[0]),
};

/** The backend over tRPC (HTTP, superjson), authenticated with the platform's service token. */
export function trpcBackend(url: string, serviceToken: string): Backend {
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url, transformer, headers: { authorization: `Bearer ${serviceToken}` } })],
  }) as TRPCClient<AppRouter> & LooseProcedures;
  return {
    routing: () => client.catalog.routing.query() as Promise<RoutingListing[]>,
    resolveKey: (secret) => client.keys.resolve.mutate({ secret }),
    revocationVersion: (since) => client.keys.revocationVersion.query(since === undefined ? undefined : { since }),
    reserve: (input) => client.reservations.reserve.mutate(input),
    release: (input) => client.reservations.release.mutate(input),
    report: (events) => client.usage.report.mutate(new ReportPayload(events)),
    generation: (input) => client.usage.generation.query(input),
  };
}
