import { and, eq, sql } from "drizzle-orm";
import type { ServiceIdentity } from "../server/auth/service-tokens";
import { uuidv7 } from "../server/lib/ids";
import { DEMO_ENERGY_PROFILES, demoEnergyJoules } from "../server/upstream-demo/energy-profiles";
import { reportUsage } from "../server/usage/settlement";
import type { Db } from "./client";
import { apiKeys, listings, organizations } from "./schema";
import { DEMO_KEY_NAME, demoUsers } from "./seed";

/**
 * Thirty days of demo traffic history for the demo buyer's key, so `npm start` shows cost per
 * useful token, the standard conversation's latency and measured energy past their minimum
 * samples. It goes through the same path as a proxy's report (validation, pricing at the price in
 * force, settlement into the ledger and the rollups), so every figure is as real as live traffic's.
 * Deterministic (a fixed pseudo-random sequence) and only when the demo buyer has no usage yet.
 */

const DAY_MS = 86_400_000;
/** Requests per chat listing per day: enough for 1M tokens of energy reports on the energy-reporting listings. */
const PER_DAY = 24;
const HISTORY_DAYS = 29;
const PLATFORM: ServiceIdentity = { kind: "platform" };

/** A small deterministic generator (mulberry32), so every fresh demo has the same history. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a history request ends: mostly complete; some cut at max_tokens, some failing upstream, some abandoned by the client. */
function outcome(r: number): { status: "ok" | "error" | "aborted"; finishReason: "stop" | "length" | "error" | "aborted"; share: number } {
  if (r < 0.04) return { status: "error", finishReason: "error", share: 0.3 };
  if (r < 0.07) return { status: "ok", finishReason: "length", share: 1 };
  if (r < 0.09) return { status: "aborted", finishReason: "aborted", share: 0.5 };
  return { status: "ok", finishReason: "stop", share: 1 };
}

export async function seedDemoTraffic(db: Db, p: { feeBps: number; now?: Date }): Promise<number> {
  const now = (p.now ?? new Date()).getTime();
  const [key] = await db
    .select({ id: apiKeys.id, orgId: apiKeys.orgId })
    .from(apiKeys)
    .innerJoin(organizations, eq(organizations.id, apiKeys.orgId))
    .where(and(eq(organizations.slug, demoUsers.buyer.slug), eq(apiKeys.name, DEMO_KEY_NAME)));
  if (!key) return 0;
  const { rows } = await db.execute<{ used: boolean }>(sql`select exists (select 1 from usage_hourly where org_id = ${key.orgId}::uuid) as used`);
  if (rows[0]!.used) return 0;
  const chat = await db
    .select({ id: listings.id, slug: listings.slug })
    .from(listings)
    .where(and(eq(listings.status, "published"), sql`'chat' = any(${listings.modalities})`));
  const next = random(21);
  const events: unknown[] = [];
  for (const [i, l] of chat.entries()) {
    const profile = DEMO_ENERGY_PROFILES.find((e) => l.slug === `${e.org}/${e.modelSlug}`);
    // Each listing its own speed: 8B models fast, 70B slow.
    const tps = l.slug.includes("70b") ? 28 : 70 + 15 * i;
    for (let n = 0; n < HISTORY_DAYS * PER_DAY; n++) {
      const startedAt = now - HISTORY_DAYS * DAY_MS + n * (DAY_MS / PER_DAY) + Math.floor(next() * 3_000_000);
      if (startedAt > now - 120_000) continue;
      const end = outcome(next());
      const inputTokens = 600 + Math.floor(next() * 1400);
      const outputTokens = Math.max(1, Math.floor((150 + next() * 450) * end.share));
      const ttft = 150 + Math.floor(next() * 250) + (l.slug.includes("70b") ? 300 : 0);
      const tokens = inputTokens + outputTokens;
      events.push({
        id: uuidv7(startedAt),
        reservationId: null,
        keyId: key.id,
        listingId: l.id,
        inputTokens,
        outputTokens,
        cachedInputTokens: 0,
        startedAt: new Date(startedAt),
        firstTokenAt: new Date(startedAt + ttft),
        endedAt: new Date(startedAt + ttft + Math.ceil((outputTokens / tps) * 1000)),
        status: end.status,
        estimated: false,
        upstreamStatus: end.status === "error" ? 502 : 200,
        finishReason: end.finishReason,
        energyJoules: profile ? demoEnergyJoules(profile, tokens) : null,
      });
    }
  }
  for (let i = 0; i < events.length; i += 5000) {
    await reportUsage(db, { service: PLATFORM, defaultFeeBps: p.feeBps, settle: "inline", events: events.slice(i, i + 5000), now: new Date(now) });
  }
  return events.length;
}
