import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { DEMO_KEY_SECRET, demoListings, demoUsers } from "../db/seed";
import { MIN_MEASURED_SAMPLE } from "../server/catalog/sample";
import { gatewayPort } from "../playwright.config";
import { demo, signIn, signOut, waitUntilSettled } from "./helpers";

/**
 * The dashboards journey: the demo buyer makes a few requests through the proxy (the official
 * openai client with the demo key), then sees them in the activity log and the chart; the demo
 * provider sees the earnings; the marketplace shows measured throughput for the listings used.
 */

const models = demoListings.filter((l) => l.org === demoUsers.provider.slug && l.modalities.includes("chat")).map((l) => `${l.org}/${l.modelSlug}`);
// Enough for the measured medians to be shown (server/catalog/sample.ts).
const REQUESTS = MIN_MEASURED_SAMPLE;

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

test("buyer sees requests in the activity log and chart; provider sees earnings; the marketplace shows measured throughput", async ({ page }) => {
  // One request is no measurement: the figure waits for the minimum sample and says how far it is.
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1` });
  const probe = demoListings.find((l) => l.org === demoUsers.provider2.slug && l.modalities.includes("chat"))!;
  await client.chat.completions.create({ model: `${probe.org}/${probe.modelSlug}`, messages: [{ role: "user", content: "Hi" }], max_tokens: 8 });
  await expect
    .poll(async () => {
      await page.goto("/?sort=throughput");
      return page.locator(`[data-testid="market-row"][data-slug="${probe.org}/${probe.modelSlug}"]`).getByTestId("measured-tps").textContent();
    })
    .toContain(`1 of ${MIN_MEASURED_SAMPLE} requests`);
  // The earnings and rollups are the ledger's side: read once the settler's window has taken every request.
  await waitUntilSettled(await viaGateway());
  const served = models.length * REQUESTS;
  const total = served + 1;

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("overview-spend-today")).not.toHaveText("$0.00");
  await expect(page.getByTestId("usage-chart").locator(".recharts-bar-rectangle").first()).toBeVisible();
  await expect(page.getByTestId("activity-row")).toHaveCount(total);
  await expect(page.getByTestId("activity-total-requests")).toHaveText(String(total));
  await expect(page.getByTestId("activity-table")).toContainText(models[0]!);
  // The export has the log's rows.
  const csv = await page.request.get("/api/usage/export");
  expect(csv.status()).toBe(200);
  expect((await csv.text()).trim().split("\r\n")).toHaveLength(total + 1);
  // Filter by model: only that model's requests remain.
  await page.getByLabel("Model", { exact: true }).selectOption({ label: models[0]! });
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("activity-row")).toHaveCount(REQUESTS);
  await signOut(page);

  await signIn(page, demo.provider);
  await page.goto("/earnings");
  await expect(page.getByTestId("earnings-requests")).toHaveText(String(served));
  await expect(page.getByTestId("earnings-gross")).not.toHaveText("$0.00");
  await expect(page.getByTestId("earnings-by-listing")).toContainText(models[0]!);
  await expect(page.getByTestId("performance-row").filter({ hasText: models[0]! }).getByTestId("performance-tps")).toHaveText(/^\d/);

  await page.goto("/?sort=throughput");
  for (const model of models) {
    const row = page.locator(`[data-testid="market-row"][data-slug="${model}"]`);
    await expect(row.getByTestId("measured-tps")).toHaveText(/^\d/);
    await expect(row.getByTestId("measured-tps-sample")).toHaveText(`n = ${REQUESTS}`);
  }
  await page.goto(`/m/${models[0]}`);
  await expect(page.getByTestId("listing-measured").getByTestId("measured-tps")).toHaveText(/tokens\/s/);
});
