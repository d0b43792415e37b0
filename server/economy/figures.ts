import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import type { PricesPer1k } from "../ledger/money";
import { type Cput, nominalPer1MNano } from "./cput";
import { standardConversationCostNano } from "./standard-conversation";
import type { ListingEnergy } from "./store";
import { summaryFigures } from "./summary";
import type { EconomyWindow } from "./windows";

/** The token-economy figures a listing carries on the marketplace, family and listing pages. */
export type ListingEconomy = {
  window: EconomyWindow;
  cput: Cput;
  /** The output price in force per 1M tokens, what CPUT is compared with. */
  nominalPer1MNano: bigint;
  standardConversation: { costNano: bigint; latencyMs: number | null };
  energy: ListingEnergy;
};

/**
 * Adds each listing's CPUT over `window`, measured energy and standard-conversation latency as of the last summary
 * rebuild (./summary.ts, the figures the marketplace sorts by), and its standard-conversation cost at `prices`, the price in force.
 */
export async function listingEconomies(
  db: DbOrTx,
  p: { listings: readonly { id: string; prices: PricesPer1k }[]; window: EconomyWindow },
): Promise<Map<string, ListingEconomy>> {
  const summary = await summaryFigures(db, { listingIds: p.listings.map((l) => l.id), window: p.window });
  return new Map(
    p.listings.map((l) => [
      l.id,
      {
        window: p.window,
        cput: summary.get(l.id)!.cput,
        nominalPer1MNano: nominalPer1MNano(l.prices.outputPer1kNano),
        standardConversation: {
          costNano: standardConversationCostNano(l.prices),
          latencyMs: summary.get(l.id)!.latencyMs,
        },
        energy: summary.get(l.id)!.energy,
      },
    ]),
  );
}

/** What browsers receive of a CPUT (tRPC output). */
export const cputOutput = z.discriminatedUnion("state", [
  z.object({ state: z.literal("insufficient-sample"), requests: z.number(), minimum: z.number() }),
  z.object({ state: z.literal("no-useful-output"), requests: z.number(), billedNano: z.bigint() }),
  z.object({
    state: z.literal("measured"),
    requests: z.number(),
    usefulOutputTokens: z.bigint(),
    per1MNano: z.bigint(),
    wastedPer1MNano: z.bigint(),
    failedShare: z.number(),
    inputShare: z.number(),
  }),
]);

export const listingEnergyOutput = z.object({
  tokensPerJoule: z.number().nullable(),
  sampleTokens: z.number(),
  hours: z.number(),
  verdict: z.enum(["verified", "over-declared", "under-declared", "insufficient-sample", "not-measured", "not-declared"]),
});

export const listingEconomyOutput = z.object({
  window: z.enum(["24h", "7d", "30d"]),
  cput: cputOutput,
  nominalPer1MNano: z.bigint(),
  standardConversation: z.object({ costNano: z.bigint(), latencyMs: z.number().nullable() }),
  energy: listingEnergyOutput,
});
