import { expect, test } from "@playwright/test";
import { demoListings } from "../db/seed";
import { demo, signIn } from "./helpers";

/**
 * The token-economy columns (issue #21): the marketplace sorts by cost per useful token and by the
 * standard conversation's cost, a listing leads with the standard conversation and shows measured
 * beside declared tokens per watt, and the buyer downloads the month's energy statement.
 */

const dollars = (text: string) => Number(text.replace(/[$,]/g, ""));

test("the marketplace sorts by standard-conversation cost and by cost per useful token; a listing shows its economy; the buyer gets the energy statement", async ({
  page,
}) => {
  await page.goto("/?sort=standardCost");
  await expect(page.getByTestId("market-sort")).toHaveValue("standardCost");
  const costs = await page.getByTestId("standard-cost").allTextContents();
  expect(costs.length).toBeGreaterThanOrEqual(demoListings.length);
  expect(costs.every((c) => /^\$\d/.test(c))).toBe(true);
  const values = costs.map(dollars);
  expect(values).toEqual([...values].sort((a, b) => a - b));

  await page.goto("/?sort=cput");
  await expect(page.getByTestId("market-sort")).toHaveValue("cput");
  expect(await page.getByTestId("market-row").count()).toBeGreaterThanOrEqual(demoListings.length);
  await expect(page.getByTestId("cput").first()).toBeVisible();

  const green = demoListings.find((l) => l.org === "second-provider" && l.modelSlug === "llama-3.1-8b")!;
  await page.goto(`/m/${green.org}/${green.modelSlug}`);
  const economy = page.getByTestId("listing-economy");
  // 750 input + 250 output at $0.055 / $0.085 per 1M: (750·55 000 + 250·85 000) / 1000 nano = $0.0000625
  await expect(economy.getByTestId("standard-cost")).toHaveText("$0.0000625");
  await expect(economy.getByTestId("cput-components")).toContainText("$0.085 / 1M");
  await expect(page.getByTestId("listing-energy").getByTestId("declared-tpw")).toHaveText("9.2");
  await expect(page.getByTestId("listing-energy").getByTestId("measured-tpw")).toBeVisible();

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("buyer-cput")).toBeVisible();
  await page.getByTestId("energy-statement-link").click();
  await expect(page.getByTestId("energy-statement")).toBeVisible();
  const month = new Date().toISOString().slice(0, 7);
  const csv = await page.request.get(`/api/usage/energy-statement?month=${month}`);
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-disposition"]).toContain(`energy-demo-buyer-${month}.csv`);
  expect((await csv.text()).split("\r\n")[0]).toBe("month,model,api_key,basis,tokens,energy_wh,grid_g_per_kwh,emissions_gco2");
  expect((await page.request.get("/api/usage/energy-statement?month=2026-13")).status()).toBe(400);
});
