import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { DomainError } from "../errors";
import { keyStatus } from "../keys/status";
import { holdIsOpen } from "../ledger/pending";
import { pgArray } from "../lib/pg-array";
import type { UsageEvent } from "./contract";
import { asDate } from "./store";

/**
 * What a provider-run proxy may do with credit and usage (README "Security model"): it
 * holds a buyer's credit only for its own published listings and active keys, releases
 * only its own reservations, and bills only against them, at most what they hold. The
 * platform's proxy is trusted with every listing and bills usage as a fact.
 */

/** The provider organisation a provider token speaks for; null for the platform. Throws FORBIDDEN for a token naming no organisation. */
export async function serviceOrgId(db: Db, p: { service: ServiceIdentity }): Promise<string | null> {
  const { service } = p;
  if (service.kind === "platform") return null;
  const { rows } = await db.execute<{ id: string }>(sql`select id from organizations where slug = ${service.orgSlug} and not is_platform`);
  if (!rows[0]) throw new DomainError("FORBIDDEN", "This service token's organisation does not exist");
  return rows[0].id;
}

/** For a provider token: the listing must be one of its own published listings; the reason otherwise. */
export async function reserveScopeProblem(db: Db, p: { providerOrgId: string; listingId: string | undefined }): Promise<string | null> {
  const { providerOrgId, listingId } = p;
  if (!listingId) return "listingId: a provider's service token must name the listing the credit is held for";
  const { rows } = await db.execute<{ id: string }>(
    sql`select id from listings where id = ${listingId.toLowerCase()} and org_id = ${providerOrgId} and status = 'published'`,
  );
  return rows[0] ? null : "listingId: this service token may only hold credit for its own published listings";
}

type Scoped = { index: number; event: UsageEvent };

/**
 * Why each event a provider token reports may not be billed, by batch index: its key must
 * be active, and it must name a reservation this provider made for that key which still
 * holds money. (What it may bill of that reservation is capped in the settlement statement.)
 */
export async function providerEventProblems(db: Db, p: { providerOrgId: string; events: readonly Scoped[]; now: Date }): Promise<Map<number, string>> {
  const { providerOrgId, events, now } = p;
  const problems = new Map<number, string>();
  if (!events.length) return problems;
  const keyIds = [...new Set(events.map((e) => e.event.keyId.toLowerCase()))];
  const reservationIds = [...new Set(events.flatMap((e) => (e.event.reservationId ? [e.event.reservationId.toLowerCase()] : [])))];
  const { rows: keys } = await db.execute<{ id: string; lineage_id: string; revoked_at: unknown; expires_at: unknown }>(
    sql`select id, lineage_id, revoked_at, expires_at from api_keys where id = any(${pgArray(keyIds)}::uuid[])`,
  );
  const { rows: reservations } = reservationIds.length
    ? await db.execute<{ id: string; lineage_id: string; service_org_id: string | null; held_nano: bigint; expires_at: unknown; open: boolean }>(sql`
        select r.id, r.lineage_id, r.service_org_id, r.held_nano, r.expires_at, ${holdIsOpen("r.hold_transfer_id")} as open
        from reservations r where r.id = any(${pgArray(reservationIds)}::uuid[])`)
    : { rows: [] };
  const keyOf = new Map(keys.map((k) => [k.id, k]));
  const reservationOf = new Map(reservations.map((r) => [r.id, r]));
  for (const { index, event } of events) {
    const key = keyOf.get(event.keyId.toLowerCase());
    if (!key) continue;
    const status = keyStatus({ revokedAt: key.revoked_at ? asDate(key.revoked_at) : null, expiresAt: key.expires_at ? asDate(key.expires_at) : null }, now);
    if (status !== "active") {
      problems.set(index, `keyId: the key is ${status}`);
      continue;
    }
    const r = event.reservationId ? reservationOf.get(event.reservationId.toLowerCase()) : undefined;
    if (!r || r.service_org_id !== providerOrgId || r.lineage_id !== key.lineage_id) {
      problems.set(index, "reservationId: a provider's service token bills only against a reservation it made for this key");
    } else if (!r.open || r.held_nano <= 0n || asDate(r.expires_at).getTime() <= now.getTime()) {
      problems.set(index, "reservationId: the reservation holds nothing any more (released, used up or expired)");
    }
  }
  return problems;
}
