import { expect, test } from "@playwright/test";
import { upstreamPort } from "../playwright.config";

// The provider journey and the buyer's view of it, against the seeded demo:
// a provider lists a model on the demo upstream, tests it, publishes it and
// changes its price; a signed-out visitor then finds and compares it.
test("a provider lists, tests, publishes and reprices a model; a visitor finds it and sees its price history", async ({ page, browser }) => {
  // A price change waits out the 30 s price notice before the visitor sees it.
  test.slow();
  const unique = Date.now().toString(36);
  const name = `Zephyr Watt ${unique}`;
  const modelSlug = `zephyr-${unique}`;
  const credential = `sk-e2e-secret-${unique}-abcd`;

  await page.goto("/signin?callbackUrl=/models");
  await page.getByLabel("Email").fill("provider@demo.tokenmarket.test");
  await page.getByLabel("Password").fill("tokenmarket-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/models");

  await page.getByTestId("new-listing").click();
  await page.getByLabel("Public name").fill(name);
  await page.getByLabel("Model slug").fill(modelSlug);
  await page.getByLabel("Model family").fill("llama-3.1-8b");
  await page.getByLabel("Context length (tokens)").fill("131072");
  await page.getByLabel("Base URL (OpenAI-compatible)").fill(`http://127.0.0.1:${upstreamPort}/v1`);
  await page.getByLabel("Upstream model id").fill("llama-3.1-8b-instruct");
  await page.getByLabel("Upstream API key").fill(credential);
  await page.locator("#priceInput").fill("0.04");
  await page.locator("#priceOutput").fill("0.06");
  await page.locator("#priceCachedInput").fill("0.02");
  await page.getByLabel("Tokens per watt").fill("50");
  await page.getByLabel("Hardware").fill("1× NVIDIA B200");
  await page.getByLabel("Measurement method").fill("Node wall power over a 30-minute load test");
  await page.getByTestId("listing-save").click();

  await page.waitForURL(/\/models\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("listing-status")).toHaveText("draft");
  // The saved key is only ever shown masked.
  await expect(page.getByText(`Saved: ••••${credential.slice(-4)}`)).toBeVisible();
  expect(await page.content()).not.toContain(credential);

  await page.getByTestId("test-connection").click();
  await expect(page.getByTestId("connection-result")).toHaveAttribute("data-ok", "true");
  await expect(page.getByTestId("connection-check")).toHaveCount(2);
  await expect(page.getByTestId("connection-latency").first()).toHaveText(/^\d+(\.\d+)? ms$/);

  await page.getByTestId("publish").click();
  await expect(page.getByTestId("listing-status")).toHaveText("published");

  await page.locator("#new-input").fill("0.03");
  await page.locator("#new-output").fill("0.05");
  await page.getByTestId("change-price-submit").click();
  await expect(page.getByTestId("price-version")).toHaveCount(2);
  await expect(page.getByTestId("price-version").first()).toContainText("$0.03");

  // A change scheduled for tomorrow 09:00 UTC, typed with a decimal comma, listed at the same UTC time, then cancelled.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.locator("#new-input").fill("0,04");
  await page.getByRole("radio", { name: "From (UTC)" }).check();
  await page.getByLabel("Effective from (UTC)", { exact: true }).fill(`${tomorrow}T09:00`);
  await page.getByTestId("change-price-submit").click();
  await expect(page.getByTestId("price-version")).toHaveCount(3);
  const scheduled = page.getByTestId("price-version").first();
  await expect(scheduled).toContainText("$0.04");
  await expect(scheduled).toContainText("09:00 UTC");
  await expect(scheduled).toContainText("scheduled");
  await scheduled.getByTestId("cancel-scheduled-price").click();
  await expect(page.getByTestId("price-version")).toHaveCount(2);
  await expect(page.getByTestId("price-version").first()).toContainText("$0.03");

  // The change made "as soon as allowed" is in force once the price notice (30 s) has passed.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("price-version").first()).toContainText("current", { timeout: 1_000 });
  }).toPass({ timeout: 60_000, intervals: [2_000] });

  // A signed-out visitor.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto("/");
  await visitor.getByTestId("market-search").fill(name);
  await visitor.getByTestId("market-search").press("Enter");
  await expect(visitor.getByTestId("market-row")).toHaveCount(1);
  await expect(visitor.getByTestId("market-row")).toContainText(name);

  // A maximum price that is not a number marks its filter; the table stays.
  await visitor.goto("/?maxPricePer1M=abc");
  await expect(visitor.getByTestId("max-price-error")).toContainText('Max price $ / 1M: "abc" is not a decimal dollar amount');
  await expect(visitor.locator("#maxPricePer1M")).toHaveAttribute("aria-invalid", "true");
  await expect(visitor.getByTestId("market-row").first()).toBeVisible();
  await expect(visitor.getByTestId("market-error")).toHaveCount(0);
  await visitor.goto("/");

  // Among every provider of the family, it is the most efficient one.
  await visitor.getByTestId("market-search").fill("llama-3.1-8b");
  await visitor.getByTestId("market-search").press("Enter");
  await expect(visitor.getByTestId("market-row")).not.toHaveCount(1);
  await visitor.getByTestId("market-sort").selectOption("tokensPerWatt");
  await visitor.waitForURL(/sort=tokensPerWatt/);
  const rows = visitor.getByTestId("market-row");
  await expect(rows.first()).toContainText(name);
  const tpw = (await visitor.getByTestId("tokens-per-watt").allInnerTexts()).map((s) => (s === "—" ? -1 : Number(s)));
  expect(tpw).toEqual([...tpw].sort((a, b) => b - a));

  await rows.first().getByRole("link", { name }).click();
  await expect(visitor.getByTestId("listing-name")).toHaveText(name);
  await expect(visitor.getByTestId("price-1m-input")).toHaveText("$0.03");
  await expect(visitor.getByTestId("price-point")).toHaveCount(2);
  await expect(visitor.getByTestId("code-example")).toContainText(`demo-provider/${modelSlug}`);
  expect(await visitor.content()).not.toContain(credential);
});
