import { sql } from "drizzle-orm";
import type { z } from "zod";
import type { DbOrTx } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import type { FinishReason, generationInput, generationOutput } from "./contract";
import { asDate } from "./store";

/**
 * `usage.generation`: one billed event (settled, or settling until the settler's window takes it), only for a key of the event's buyer organisation
 * (and, for a provider's token, only on that provider's listings); null otherwise, so
 * ids of other organisations' requests reveal nothing.
 */
export async function getGeneration(db: DbOrTx, p: z.infer<typeof generationInput> & { service: ServiceIdentity }): Promise<z.infer<typeof generationOutput>> {
  const { service, ...input } = p;
  const { rows } = await db.execute<{
    id: string;
    listing_slug: string;
    provider_name: string;
    provider_slug: string;
    input_tokens: number;
    output_tokens: number;
    cached_input_tokens: number;
    cost_nano: bigint;
    started_at: unknown;
    first_token_at: unknown;
    ended_at: unknown;
    status: "ok" | "error" | "aborted";
    estimated: boolean;
    finish_reason: FinishReason | null;
    energy_joules: number | null;
    settled: boolean;
  }>(sql`
    select e.id, l.slug as listing_slug, o.name as provider_name, o.slug as provider_slug, e.input_tokens, e.output_tokens,
           e.cached_input_tokens, e.cost_nano, e.started_at, e.first_token_at, e.ended_at, e.status, e.estimated,
           e.finish_reason, e.energy_joules, (e.batch_seq = 0 or b.settled_at is not null) as settled
    from usage_events e
    left join usage_batches b on b.seq = e.batch_seq
    join api_keys k on k.id = ${input.keyId.toLowerCase()} and k.org_id = e.org_id
    join listings l on l.id = e.listing_id
    join organizations o on o.id = e.provider_org_id
    where e.id = ${input.id.toLowerCase()}`);
  const r = rows[0];
  if (!r || (service.kind === "provider" && r.provider_slug !== service.orgSlug)) return null;
  return {
    id: r.id,
    listingSlug: r.listing_slug,
    providerOrg: r.provider_name,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cachedInputTokens: r.cached_input_tokens,
    costNano: r.cost_nano,
    startedAt: asDate(r.started_at),
    firstTokenAt: r.first_token_at ? asDate(r.first_token_at) : null,
    endedAt: asDate(r.ended_at),
    status: r.status,
    estimated: r.estimated,
    finishReason: r.finish_reason,
    energyJoules: r.energy_joules,
    settlement: r.settled ? "settled" : "settling",
  };
}
