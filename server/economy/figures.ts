import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import type { MeasuredStats } from "../catalog/measured";
import type { PricesPer1k } from "../ledger/money";
import { type Cput, nominalPer1MNano } from "./cput";
import { standardConversationCostNano, standardConversationLatencyMs } from "./standard-conversation";
import { type ListingEnergy, listingCput, listingEnergy } from "./store";
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

/** Adds each listing's CPUT over `window`, standard conversation (at `prices`, the price in force) and measured energy. */
export async function listingEconomies(
  db: DbOrTx,
  p: { listings: readonly { id: string; prices: PricesPer1k; measured: MeasuredStats | null }[]; window: EconomyWindow; now?: Date },
): Promise<Map<string, ListingEconomy>> {
  const listingIds = p.listings.map((l) => l.id);
  const [cput, energy] = await Promise.all([listingCput(db, { listingIds, window: p.window, now: p.now }), listingEnergy(db, { listingIds, now: p.now })]);
  return new Map(
    p.listings.map((l) => [
      l.id,
      {
        window: p.window,
        cput: cput.get(l.id)!,
        nominalPer1MNano: nominalPer1MNano(l.prices.outputPer1kNano),
        standardConversation: {
          costNano: standardConversationCostNano(l.prices),
          latencyMs: standardConversationLatencyMs(l.measured?.medianTtftMs ?? null, l.measured?.medianOutputTokensPerSecond ?? null),
        },
        energy: energy.get(l.id) ?? { tokensPerJoule: null, sampleTokens: 0, hours: 0, verdict: "not-measured" },
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
