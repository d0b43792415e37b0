import { expect, test } from "@playwright/test";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { DEMO_KEY_SECRET, demoListings, demoUsers } from "../db/seed";
import { MIN_MEASURED_SAMPLE } from "../server/catalog/sample";
import { gatewayPort } from "../playwright.config";
import { windowStart } from "../server/catalog/measured";
import { METRIC_OUTPUT_TPS } from "../server/rollups/histogram";
import { withDb } from "./demo-usage";
import { demo, signIn, signOut, waitUntilSettled } from "./helpers";

/**
 * The dashboards journey: the demo buyer makes a few requests through the proxy (the official
 * openai client with the demo key), then sees them in the activity log and the chart; the demo
 * provider sees the earnings; the marketplace shows measured throughput for the listings used.
 * Other journeys send traffic with the same key (e2e/economy.spec.ts), in either order: every
 * count is read from the database when it is asserted, never assumed from an empty history.
 */

const models = demoListings.filter((l) => l.org === demoUsers.provider.slug && l.modalities.includes("chat")).map((l) => `${l.org}/${l.modelSlug}`);
// Enough for the measured medians to be shown (server/catalog/sample.ts).
const REQUESTS = MIN_MEASURED_SAMPLE;
// Rows on one page of the activity log (app/(console)/usage/activity-log.tsx).
const ACTIVITY_PAGE = 25;

/** The requests, one after another; returns the last one's generation id. */
async function viaGateway(): Promise<string> {
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1` });
  let last = "";
  for (const model of models) {
    for (let i = 0; i < REQUESTS; i++) {
      const { data: r, response } = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: `Say hello, number ${i}` }], max_tokens: 32 })
        .withResponse();
      expect(r.choices[0]?.message).toBeTruthy();
      last = response.headers.get("x-request-id")!;
    }
  }
  return last;
}

/** Settled requests in the e2e database (all of them recent: the platform starts without a traffic history). */
async function requests(where: { buyer?: string; provider?: string; listing?: string; since?: Date }): Promise<number> {
  const { rows } = await withDb((db) =>
    db.execute<{ n: number }>(sql`
      select count(*)::int as n from usage_events e join listings l on l.id = e.listing_id
      where ${where.buyer ? sql`e.org_id = (select id from organizations where slug = ${where.buyer})` : sql`true`}
        and ${where.provider ? sql`l.org_id = (select id from organizations where slug = ${where.provider})` : sql`true`}
        and ${where.listing ? sql`l.slug = ${where.listing}` : sql`true`}
        and ${where.since ? sql`e.started_at >= ${where.since.toISOString()}::timestamptz` : sql`true`}`),
  );
  return rows[0]!.n;
}

/** The measured-throughput sample of a listing over the marketplace's 24 h window, from the rollup settlement keeps. */
async function tpsSample(slug: string): Promise<number> {
  const { rows } = await withDb((db) =>
    db.execute<{ n: number }>(sql`
      select coalesce(sum(x.events), 0)::int as n from listing_latency_hourly x join listings l on l.id = x.listing_id
      where l.slug = ${slug} and x.metric = ${METRIC_OUTPUT_TPS} and x.hour >= ${windowStart(new Date()).toISOString()}::timestamptz`),
  );
  return rows[0]!.n;
}

test("buyer sees requests in the activity log and chart; provider sees earnings; the marketplace shows measured throughput", async ({ page }) => {
  // One request is no measurement: the figure waits for the minimum sample and says how far it is. The probe is
  // the chat listing with the least traffic over the window, so earlier journeys cannot have measured it already.
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1` });
  const chats = demoListings.filter((l) => l.modalities.includes("chat")).map((l) => `${l.org}/${l.modelSlug}`);
  const counts = await Promise.all(chats.map((slug) => requests({ listing: slug, since: windowStart(new Date()) })));
  const before = Math.min(...counts);
  expect(before + 1).toBeLessThan(MIN_MEASURED_SAMPLE);
  const probe = chats[counts.indexOf(before)]!;
  await client.chat.completions.create({ model: probe, messages: [{ role: "user", content: "Hi" }], max_tokens: 8 });
  await expect
    .poll(async () => {
      await page.goto("/?sort=throughput");
      return page.locator(`[data-testid="market-row"][data-slug="${probe}"]`).getByTestId("measured-tps").textContent();
    })
    .toContain(`${before + 1} of ${MIN_MEASURED_SAMPLE} requests`);
  // The earnings and rollups are the ledger's side: read once the settler's window has taken every request.
  await waitUntilSettled(await viaGateway());
  const total = await requests({ buyer: demoUsers.buyer.slug });

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("overview-spend-today")).not.toHaveText("$0.00");
  await expect(page.getByTestId("usage-chart").locator(".recharts-bar-rectangle").first()).toBeVisible();
  await expect(page.getByTestId("activity-row")).toHaveCount(Math.min(total, ACTIVITY_PAGE));
  await expect(page.getByTestId("activity-total-requests")).toHaveText(total.toLocaleString("en-US"));
  await expect(page.getByTestId("activity-table")).toContainText(models[0]!);
  // The export has the log's rows.
  const csv = await page.request.get("/api/usage/export");
  expect(csv.status()).toBe(200);
  expect((await csv.text()).trim().split("\r\n")).toHaveLength(total + 1);
  // Filter by model: only that model's requests remain.
  await page.getByLabel("Model", { exact: true }).selectOption({ label: models[0]! });
  await page.getByRole("button", { name: "Apply" }).click();
  const ofModel = await requests({ buyer: demoUsers.buyer.slug, listing: models[0]! });
  expect(ofModel).toBeGreaterThanOrEqual(REQUESTS);
  await expect(page.getByTestId("activity-row")).toHaveCount(Math.min(ofModel, ACTIVITY_PAGE));
  await expect(page.getByTestId("activity-total-requests")).toHaveText(ofModel.toLocaleString("en-US"));
  await signOut(page);

  await signIn(page, demo.provider);
  await page.goto("/earnings");
  await expect(page.getByTestId("earnings-requests")).toHaveText((await requests({ provider: demoUsers.provider.slug })).toLocaleString("en-US"));
  await expect(page.getByTestId("earnings-gross")).not.toHaveText("$0.00");
  await expect(page.getByTestId("earnings-by-listing")).toContainText(models[0]!);
  await expect(page.getByTestId("performance-row").filter({ hasText: models[0]! }).getByTestId("performance-tps")).toHaveText(/^\d/);

  await page.goto("/?sort=throughput");
  for (const model of models) {
    const row = page.locator(`[data-testid="market-row"][data-slug="${model}"]`);
    await expect(row.getByTestId("measured-tps")).toHaveText(/^\d/);
    const n = await tpsSample(model);
    expect(n).toBeGreaterThanOrEqual(REQUESTS);
    await expect(row.getByTestId("measured-tps-sample")).toHaveText(`n = ${n.toLocaleString("en-US")}`);
  }
  await page.goto(`/m/${models[0]}`);
  await expect(page.getByTestId("listing-measured").getByTestId("measured-tps")).toHaveText(/tokens\/s/);
});
