import fs from "node:fs";
import { expect } from "@playwright/test";
import { createTRPCClient, httpLink } from "@trpc/client";
import { and, eq, sql } from "drizzle-orm";
import superjson from "superjson";
import { createDb, createPool } from "../db/client";
import { apiKeys, listings, organizations } from "../db/schema";
import type { AppRouter } from "../server/api/root";
import { uuidv7 } from "../server/lib/ids";

// The e2e platform's embedded database and generated secrets (see playwright.config.ts, scripts/start.ts).
const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${process.env.E2E_PG_PORT ?? "54340"}/tokenmarket`;
const serviceToken = () => (JSON.parse(fs.readFileSync(".data/e2e/secrets.json", "utf8")) as { SERVICE_TOKEN: string }).SERVICE_TOKEN;

/** Runs `f` on the e2e platform's database (for lookups and planted differences). */
export async function withDb<T>(f: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrl, 2);
  try {
    return await f(createDb(pool));
  } finally {
    await pool.end();
  }
}

/**
 * Usage of the demo buyer's "Demo key" at the demo provider's Llama 3.1 70B, one event per entry,
 * reported the way a proxy reports it (`usage.report` over HTTP with the platform's service token),
 * once the settler's window has posted them to the ledger. Returns the event ids.
 */
export async function reportDemoUsage(baseURL: string, tokens: readonly { inputTokens: number; outputTokens: number }[]): Promise<string[]> {
  const { keyId, listingId } = await withDb(async (db) => {
    const [buyer] = await db.select().from(organizations).where(eq(organizations.slug, "demo-buyer"));
    const [key] = await db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.orgId, buyer!.id), eq(apiKeys.name, "Demo key")));
    const [listing] = await db.select().from(listings).where(eq(listings.slug, "demo-provider/llama-3.1-70b"));
    return { keyId: key!.id, listingId: listing!.id };
  });
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseURL}/api/trpc`, transformer: superjson, headers: { authorization: `Bearer ${serviceToken()}` } })],
  });
  const startedAt = new Date(Date.now() - 60_000);
  const events = tokens.map((t) => ({
    id: uuidv7(),
    reservationId: null,
    keyId,
    listingId,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    cachedInputTokens: 0,
    startedAt,
    firstTokenAt: new Date(startedAt.getTime() + 200),
    endedAt: new Date(startedAt.getTime() + 3_000),
    status: "ok" as const,
    estimated: false,
    upstreamStatus: 200,
  }));
  const { results } = await client.usage.report.mutate({ events });
  expect(results.map((r) => r.status)).toEqual(events.map(() => "settled"));
  // Acknowledged (stage 1); the worker's settler posts them in its next window (SETTLEMENT_WINDOW_MS).
  await expect
    .poll(() =>
      withDb(async (db) => {
        const { rows } = await db.execute<{ waiting: number }>(sql`
          select count(*)::int as waiting from usage_events e join usage_batches b on b.seq = e.batch_seq
          where e.id = any(${`{${events.map((e) => e.id).join(",")}}`}::uuid[]) and b.settled_at is null`);
        return rows[0]!.waiting;
      }),
    )
    .toBe(0);
  return events.map((e) => e.id);
}
