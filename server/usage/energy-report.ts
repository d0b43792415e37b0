import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { listingEnergyReadings, listings } from "../../db/schema";
import type { ServiceIdentity } from "../auth/service-tokens";
import type { energyReportInput, energyReportOutput } from "../contract/energy";
import { DomainError } from "../errors";
import { CLOCK_SKEW_MS, MAX_EVENT_AGE_MS } from "./rules";
import { serviceOrgId } from "./service-scope";

/**
 * `energy.report`: a provider's hourly meter reading for one of its own listings, stored once
 * per (listing, hour). The insert is the claim (`on conflict do nothing`), so concurrent sends
 * of one hour store one reading; a later send is compared with it field by field.
 */

type Reading = z.infer<typeof energyReportOutput>;

const HOUR_MS = 3_600_000;

export async function reportEnergy(db: Db, p: z.infer<typeof energyReportInput> & { service: ServiceIdentity; now?: Date }): Promise<Reading> {
  const { service, now = new Date(), ...input } = p;
  const listingId = input.listingId.toLowerCase();
  const hour = input.hour.getTime();
  if (hour + HOUR_MS > now.getTime() + CLOCK_SKEW_MS) throw new DomainError("INVALID_INPUT", "hour: must have ended (report an hour once it is over)", "hour");
  if (hour < now.getTime() - MAX_EVENT_AGE_MS) throw new DomainError("INVALID_INPUT", "hour: is more than 35 days ago", "hour");
  // Meters are a provider's own: the platform's token speaks for no provider.
  const orgId = await serviceOrgId(db, { service });
  if (orgId === null) throw new DomainError("FORBIDDEN", "energy.report takes a provider's service token: readings come from a provider's own meters");
  const [listing] = await db
    .select({ id: listings.id })
    .from(listings)
    .where(and(eq(listings.id, listingId), eq(listings.orgId, orgId)));
  if (!listing) throw new DomainError("FORBIDDEN", "listingId: this service token may only report energy for its own listings", "listingId");

  const [inserted] = await db
    .insert(listingEnergyReadings)
    .values({ listingId, hour: input.hour, joules: input.joules, tokensServed: input.tokensServed, reportedBy: orgId })
    .onConflictDoNothing()
    .returning();
  if (inserted) return readingOf(inserted);
  const [stored] = await db
    .select()
    .from(listingEnergyReadings)
    .where(and(eq(listingEnergyReadings.listingId, listingId), eq(listingEnergyReadings.hour, input.hour)));
  const first = readingOf(stored!);
  const differ = (["joules", "tokensServed"] as const).filter((f) => first[f] !== input[f]);
  if (differ.length) {
    throw new DomainError(
      "CONFLICT",
      `${differ.join(", ")}: this listing's reading for ${input.hour.toISOString()} was already recorded with ${first.joules} J and ${first.tokensServed} tokens; the first reading stands`,
      differ[0],
    );
  }
  return first;
}

function readingOf(r: typeof listingEnergyReadings.$inferSelect): Reading {
  return { listingId: r.listingId, hour: r.hour, joules: r.joules, tokensServed: r.tokensServed, reportedAt: r.createdAt };
}
