import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { createTRPCClient, httpLink } from "@trpc/client";
import { and, eq, sql } from "drizzle-orm";
import superjson from "superjson";
import { createDb, createPool } from "../db/client";
import { apiKeys, listings, organizations } from "../db/schema";
import type { AppRouter } from "../server/api/root";
import { uuidv7 } from "../server/lib/ids";
import { demo, signIn } from "./helpers";

// The e2e platform's embedded database and generated secrets (see playwright.config.ts, scripts/start.ts).
const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${process.env.E2E_PG_PORT ?? "54340"}/tokenmarket`;
const serviceToken = () => (JSON.parse(fs.readFileSync(".data/e2e/secrets.json", "utf8")) as { SERVICE_TOKEN: string }).SERVICE_TOKEN;

async function withDb<T>(f: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrl, 2);
  try {
    return await f(createDb(pool));
  } finally {
    await pool.end();
  }
}

/** $11.80 of the demo buyer's usage at the demo provider (20M input tokens of Llama 3.1 70B at $0.59 per 1M), reported as a proxy does. */
async function reportUsage(baseURL: string) {
  const { keyId, listingId } = await withDb(async (db) => {
    const [buyer] = await db.select().from(organizations).where(eq(organizations.slug, "demo-buyer"));
    const [key] = await db.select().from(apiKeys).where(and(eq(apiKeys.orgId, buyer!.id), eq(apiKeys.name, "Demo key")));
    const [listing] = await db.select().from(listings).where(eq(listings.slug, "demo-provider/llama-3.1-70b"));
    return { keyId: key!.id, listingId: listing!.id };
  });
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseURL}/api/trpc`, transformer: superjson, headers: { authorization: `Bearer ${serviceToken()}` } })],
  });
  const startedAt = new Date(Date.now() - 60_000);
  const events = [0, 1, 2, 3].map(() => ({
    id: uuidv7(),
    reservationId: null,
    keyId,
    listingId,
    inputTokens: 5_000_000,
    outputTokens: 0,
    cachedInputTokens: 0,
    startedAt,
    firstTokenAt: new Date(startedAt.getTime() + 200),
    endedAt: new Date(startedAt.getTime() + 3_000),
    status: "ok" as const,
    estimated: false,
    upstreamStatus: 200,
  }));
  const { results } = await client.usage.report.mutate({ events });
  expect(results.map((r) => r.status)).toEqual(["settled", "settled", "settled", "settled"]);
}

test("the demo provider connects, finance previews and runs payouts, the provider sees the payout and its statement; reconciliation passes, then fails on a planted difference", async ({ browser, baseURL }) => {
  await reportUsage(baseURL!);

  // The provider connects through the local stand-in of Stripe's Express onboarding.
  const provider = await browser.newPage();
  await signIn(provider, demo.provider);
  await provider.goto("/earnings");
  await expect(provider.getByTestId("connect-state")).toContainText("Connect a Stripe account");
  await provider.getByTestId("connect-button").click();
  await expect(provider).toHaveURL(/\/earnings\/connect/);
  await provider.getByTestId("complete-onboarding").click();
  await expect(provider).toHaveURL(/\/earnings\?connect=return/);
  await expect(provider.getByTestId("connect-state")).toContainText("payouts are enabled");
  const funded = await provider.getByTestId("earnings-funded").innerText();
  expect(funded).not.toBe("$0.00");

  // Finance previews the run, then pays.
  const finance = await browser.newPage();
  await signIn(finance, demo.finance);
  await finance.goto("/finance/payouts");
  const line = finance.locator('[data-testid=run-line][data-org="Demo Provider"]');
  await expect(line).toHaveAttribute("data-decision", "pay");
  await finance.getByTestId("run-payouts").click();
  await expect(finance.getByTestId("run-result")).toContainText("1 payout sent");
  await expect(finance.getByTestId("run-result")).toContainText("(paid)");
  await finance.reload();
  await expect(finance.locator('[data-testid=run-line][data-org="Demo Provider"]')).toHaveCount(0);

  // The provider sees it, with its Stripe reference, and opens its printable statement.
  await provider.goto("/earnings");
  const row = provider.getByTestId("payout-row").first();
  await expect(row.getByTestId("payout-status")).toHaveText("Paid");
  await expect(row).toContainText("tr_local_");
  await expect(provider.getByTestId("earnings-paid")).not.toHaveText("$0.00");
  await row.getByTestId("payout-statement-link").click();
  await expect(provider.getByTestId("payout-statement")).toBeVisible();
  await expect(provider.getByTestId("statement-reference")).toContainText("tr_local_");
  await expect(provider.getByTestId("statement-settlements").locator("tbody tr")).not.toHaveCount(0);
  const earned = await provider.getByTestId("statement-earned").innerText();
  expect(earned).not.toBe("$0.00");

  // Reconciliation: payouts, ledger and the stand-in's transfers agree; a planted difference fails it.
  await finance.goto("/finance/reconciliation");
  await expect(finance.getByTestId("report-payouts-status")).toHaveAttribute("data-status", "pass");
  await withDb((db) => db.execute(sql`update connect_payouts set amount_cents = amount_cents + 1 where id = (select id from connect_payouts order by created_at desc limit 1)`));
  await finance.reload();
  await expect(finance.getByTestId("report-payouts-status")).toHaveAttribute("data-status", "fail");
  await expect(finance.getByTestId("report-payouts")).toContainText("vs ledger");
  // Put it back: the books agree again.
  await withDb((db) => db.execute(sql`update connect_payouts set amount_cents = amount_cents - 1 where id = (select id from connect_payouts order by created_at desc limit 1)`));
  await finance.reload();
  await expect(finance.getByTestId("report-payouts-status")).toHaveAttribute("data-status", "pass");
});
