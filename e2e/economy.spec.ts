import { expect, type Page, test } from "@playwright/test";
import { createTRPCClient, httpLink } from "@trpc/client";
import { inArray, sql } from "drizzle-orm";
import OpenAI from "openai";
import superjson from "superjson";
import { DEMO_KEY_SECRET, demoListings } from "../db/seed";
import { listings } from "../db/schema";
import { meterToken, gatewayPort } from "../playwright.config";
import type { AppRouter } from "../server/api/root";
import { MIN_CPUT_REQUESTS } from "../server/economy/cput";
import { withDb } from "./demo-usage";
import { demo, signIn, waitUntilSettled } from "./helpers";

/**
 * The token-economy journey (issue #21) on traffic it makes itself, since the e2e platform starts
 * without the demo's traffic history: the demo buyer's requests through the proxy (the official
 * openai client; some cut off by max_tokens, which are billed but not useful), energy reported by
 * the demo upstream's simulated hardware, and hourly meter readings a provider reports with its
 * service token (energy.report) for the 1M-token sample the verified mark needs. Then the
 * marketplace sorts by cost per useful token and by the standard conversation's cost, a listing
 * shows measured beside declared with its mark, and the buyer downloads the month's energy statement.
 * Other journeys count the demo buyer's requests relative to what they find, or run before this one.
 */

const dollars = (text: string) => Number(text.replace(/[$,]/g, ""));
const honest = "second-provider/llama-3.1-8b";
const overDeclared = "second-provider/qwen2.5-7b";
// Real tokens per joule of the simulated hardware (server/upstream-demo/energy-profiles.ts).
const realTpj: Record<string, number> = { [honest]: 9.0, [overDeclared]: 4.9 };

/** MIN_CPUT_REQUESTS complete requests to each model, and a few cut off; returns the last generation id. */
async function traffic(models: readonly string[]): Promise<string> {
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1`, maxRetries: 0 });
  let last = "";
  for (const model of models) {
    for (let i = 0; i < MIN_CPUT_REQUESTS + 3; i++) {
      const cutOff = i >= MIN_CPUT_REQUESTS;
      const { data, response } = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: `Tell me a long story about energy, part ${i}` }], max_tokens: cutOff ? 2 : 64 })
        .withResponse();
      expect(data.choices[0]!.finish_reason).toBe(cutOff ? "length" : "stop");
      last = response.headers.get("x-request-id")!;
    }
  }
  return last;
}

/** Four past hours of meter readings per listing, 300k tokens each at its hardware's real efficiency (identical on a rerun: idempotent). */
async function meterReadings(baseURL: string) {
  const ids = await withDb(async (db) =>
    db
      .select({ id: listings.id, slug: listings.slug })
      .from(listings)
      .where(inArray(listings.slug, [honest, overDeclared])),
  );
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseURL}/api/trpc`, transformer: superjson, headers: { authorization: `Bearer ${meterToken}` } })],
  });
  const thisHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  for (const { id, slug } of ids) {
    for (let h = 2; h <= 5; h++) {
      const tokensServed = 300_000;
      await client.energy.report.mutate({
        listingId: id,
        hour: new Date(thisHour - h * 3_600_000),
        tokensServed,
        joules: Math.round((tokensServed / realTpj[slug]!) * 1000) / 1000,
      });
    }
  }
}

/** Requests to a listing since `since`, from the e2e database. */
async function requestsTo(slug: string, since: Date): Promise<number> {
  const { rows } = await withDb((db) =>
    db.execute<{ n: number }>(sql`
      select count(*)::int as n from usage_events e join listings l on l.id = e.listing_id
      where l.slug = ${slug} and e.started_at >= ${since.toISOString()}::timestamptz`),
  );
  return rows[0]!.n;
}

/**
 * Waits until the worker has rebuilt the marketplace's token-economy summary after `since` (every
 * ECONOMY_REFRESH_SECONDS, 1 s under playwright.config.ts), reading the "as of" the page shows.
 */
async function waitForEconomyRefresh(page: Page, since: Date) {
  await expect
    .poll(
      async () => {
        await page.goto("/");
        return Date.parse((await page.getByTestId("economy-as-of").getAttribute("data-as-of")) || "0");
      },
      { timeout: 30_000 },
    )
    .toBeGreaterThan(since.getTime());
}

test("after real traffic, the marketplace sorts by cost per useful token and standard-conversation cost; a listing shows measured beside declared with its mark; the buyer gets the energy statement", async ({
  page,
  baseURL,
}) => {
  const used = [honest, overDeclared, "demo-provider/llama-3.1-70b"];
  await waitUntilSettled(await traffic(used));
  await meterReadings(baseURL!);
  await waitForEconomyRefresh(page, new Date());

  await page.goto("/?sort=standardCost");
  await expect(page.getByTestId("market-sort")).toHaveValue("standardCost");
  const costs = await page.getByTestId("standard-cost").allTextContents();
  expect(costs.length).toBeGreaterThanOrEqual(demoListings.length);
  expect(costs.every((c) => /^\$\d/.test(c))).toBe(true);
  const values = costs.map(dollars);
  expect(values).toEqual([...values].sort((a, b) => a - b));

  await page.goto("/?sort=cput");
  await expect(page.getByTestId("market-sort")).toHaveValue("cput");
  const rows = page.getByTestId("market-row");
  const shown = await rows.evaluateAll((els) =>
    els.map((el) => ({ slug: el.getAttribute("data-slug")!, cput: el.querySelector('[data-testid="cput"]')?.textContent ?? "" })),
  );
  // Every listing with traffic shows its figure, lowest first, before every listing without enough.
  const measured = shown.filter((r) => /^\$\d/.test(r.cput));
  expect(measured.map((r) => r.slug).sort()).toEqual(expect.arrayContaining([...used].sort()));
  expect(shown.slice(0, measured.length)).toEqual(measured);
  const cputs = measured.map((r) => dollars(r.cput));
  expect(cputs).toEqual([...cputs].sort((a, b) => a - b));

  // Over 30 days instead: the window is a URL parameter the sort keeps; each figure's sample is that window's requests.
  await page.getByTestId("economy-window").selectOption("30d");
  await expect(page).toHaveURL(/window=30d/);
  await expect(page.getByTestId("market-sort")).toHaveValue("cput");
  await expect(page.getByTestId("market-table")).toContainText("Cost / useful 1M (30 days)");
  const over30 = await rows.evaluateAll((els) =>
    els.map((el) => ({
      slug: el.getAttribute("data-slug")!,
      cput: el.querySelector('[data-testid="cput"]')?.textContent ?? "",
      sample: el.querySelector('[data-testid="cput-sample"]')?.textContent ?? "",
    })),
  );
  const measured30 = over30.filter((r) => /^\$\d/.test(r.cput));
  expect(measured30.map((r) => r.slug)).toEqual(expect.arrayContaining(used));
  expect(over30.slice(0, measured30.length)).toEqual(measured30);
  const cputs30 = measured30.map((r) => dollars(r.cput));
  expect(cputs30).toEqual([...cputs30].sort((a, b) => a - b));
  const since30 = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - (30 * 24 - 1) * 3_600_000);
  for (const r of measured30) expect(r.sample, r.slug).toBe(`n = ${(await requestsTo(r.slug, since30)).toLocaleString("en-US")}`);

  // The honest listing: measured beside declared, verified over 1.2M reported tokens; cut-off requests cost more than nominal.
  await page.goto(`/m/${honest}`);
  const economy = page.getByTestId("listing-economy");
  // 750 input + 250 output at $0.055 / $0.085 per 1M: (750·55 000 + 250·85 000) / 1000 nano = $0.0000625
  await expect(economy.getByTestId("standard-cost")).toHaveText("$0.0000625");
  await expect(economy.getByTestId("cput-components")).toContainText("$0.085 / 1M");
  await expect(economy.getByTestId("cput-failed-share")).not.toHaveText(/^0(\.0+)?\s*%/);
  const energy = page.getByTestId("listing-energy");
  await expect(energy.getByTestId("declared-tpw")).toHaveText("9.2");
  expect(Number(await energy.getByTestId("measured-tpw").textContent())).toBeCloseTo(9.0, 1);
  await expect(energy.getByTestId("energy-verdict")).toHaveAttribute("data-verdict", "verified");
  await expect(energy.getByTestId("measured-tpw-sample")).toHaveText(/^1\.2\d?M tokens · 5 h$/);
  await page.goto(`/m/${overDeclared}`);
  await expect(page.getByTestId("listing-energy").getByTestId("energy-verdict")).toHaveAttribute("data-verdict", "over-declared");

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("buyer-cput")).toContainText(honest);
  await page.getByTestId("energy-statement-link").click();
  await expect(page.getByTestId("energy-statement")).toContainText(honest);
  const month = new Date().toISOString().slice(0, 7);
  const csv = await page.request.get(`/api/usage/energy-statement?month=${month}`);
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-disposition"]).toContain(`energy-demo-buyer-${month}.csv`);
  const [header, ...lines] = (await csv.text()).trim().split("\r\n");
  expect(header).toBe("month,model,api_key,basis,tokens,energy_wh,grid_g_per_kwh,emissions_gco2");
  // One line per model and key, each saying whether its energy was measured or declared.
  const line = (model: string) => lines.filter((l) => l.split(",")[1] === model);
  for (const model of used) expect(line(model), model).toHaveLength(1);
  expect(line(honest)[0]!.split(",")[3]).toBe("measured");
  expect(lines.every((l) => ["measured", "declared"].includes(l.split(",")[3]!))).toBe(true);
  expect((await page.request.get("/api/usage/energy-statement?month=2026-13")).status()).toBe(400);
});
