import { mkdirSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import OpenAI from "openai";
import { DEMO_KEY_SECRET, demoListings, demoUsers } from "../db/seed";
import { gatewayPort } from "../playwright.config";
import { demo, signIn, signOut, waitUntilSettled } from "./helpers";

/**
 * What a person sees, on a laptop and on a phone: the buyer's monthly statement agrees with the
 * activity log, the usage page stays live, the marketplace and usage pages fit 390 px, and the
 * main pages are saved as screenshots (.test-results/screenshots/) for review without a run.
 * Runs after the dashboards journey, whose requests give these pages something to show.
 */

const SHOTS = ".test-results/screenshots";
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1366, height: 900 };
const chat = demoListings.find((l) => l.org === demoUsers.provider.slug && l.modalities.includes("chat"))!;
const chatSlug = `${chat.org}/${chat.modelSlug}`;

test.use({ timezoneId: "UTC" });

/** The page's width as laid out: wider than the viewport means the page scrolls sideways. */
const documentWidth = (page: Page) => page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
const dollars = (text: string | null) => Number((text ?? "").replace(/[$,+\s]/g, ""));

/** One chat request through the proxy; returns its generation id (the x-request-id). */
async function oneRequest(): Promise<string> {
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1` });
  const { response } = await client.chat.completions
    .create({ model: chatSlug, messages: [{ role: "user", content: "One more" }], max_tokens: 16 })
    .withResponse();
  return response.headers.get("x-request-id")!;
}

test("a buyer's monthly statement shows usage in their lines, and its total equals the activity log's for the month", async ({ page }) => {
  // The statement reads the ledger, the log reads the requests: they agree once the request is settled.
  await waitUntilSettled(await oneRequest());
  await signIn(page, demo.buyer);
  const now = new Date();
  const month = now.toISOString().slice(0, 7);
  await page.goto(`/finance/statements/${month}`);
  const statement = page.getByTestId("buyer-statement");
  await expect(statement.getByTestId("statement-usage-line").first()).toBeVisible();
  // Lines a buyer recognises: no provider part and fee, no holds.
  await expect(statement).not.toContainText(/reservation|platform|provider/i);
  const used = dollars(await statement.getByTestId("statement-usage-total").textContent());
  const requests = Number(await statement.getByTestId("statement-usage-requests").textContent());
  expect(used).toBeGreaterThan(0);

  await page.goto("/usage");
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 16);
  await page.getByLabel("From").fill(`${month}-01T00:00`);
  await page.getByLabel("To").fill(next);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect.poll(async () => dollars(await page.getByTestId("activity-total-cost").textContent())).toBe(used);
  await expect(page.getByTestId("activity-total-requests")).toHaveText(requests.toLocaleString("en-US"));

  // A usage line links to its requests in the activity log.
  await page.goto(`/finance/statements/${month}`);
  const line = page.getByTestId("statement-usage-line").last();
  const lineRequests = Number(/Usage: ([\d,]+) request/.exec((await line.textContent()) ?? "")?.[1]?.replace(/,/g, ""));
  await line.getByRole("link").click();
  await expect(page).toHaveURL(/\/usage\?day=\d{4}-\d{2}-\d{2}$/);
  await expect(page.getByTestId("activity-total-requests")).toHaveText(lineRequests.toLocaleString("en-US"));
});

test("the usage page refreshes when the tab regains focus", async ({ page }) => {
  await signIn(page, demo.buyer);
  await page.goto("/usage");
  const before = Number((await page.getByTestId("activity-total-requests").textContent())?.replace(/,/g, ""));
  await oneRequest();
  await expect
    .poll(
      async () => {
        await page.evaluate(() => window.dispatchEvent(new Event("visibilitychange")));
        return Number((await page.getByTestId("activity-total-requests").textContent())?.replace(/,/g, ""));
      },
      { timeout: 20_000, intervals: [1_000] },
    )
    .toBe(before + 1);
});

test("at 390 px the marketplace and usage pages do not scroll sideways and show tokens per watt", async ({ page }) => {
  await page.setViewportSize(PHONE);
  await page.goto("/");
  expect(await documentWidth(page)).toBeLessThanOrEqual(PHONE.width);
  // Filters fold away behind one button; rows read as cards with every figure on screen.
  await expect(page.getByTestId("market-more-filters")).toBeVisible();
  await expect(page.getByLabel("Model family")).toBeHidden();
  const row = page.locator(`[data-testid="market-row"][data-slug="${chatSlug}"]`);
  for (const id of ["tokens-per-watt", "wh-per-1m", "comparable-price"]) {
    const box = await row.getByTestId(id).boundingBox();
    expect(box, id).not.toBeNull();
    expect(box!.x + box!.width, id).toBeLessThanOrEqual(PHONE.width);
  }
  await page.getByTestId("market-more-filters").click();
  await expect(page.getByLabel("Model family")).toBeVisible();

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("activity-row").first()).toBeVisible();
  await expect(page.getByTestId("energy-tokens-per-watt").first()).toBeVisible();
  expect(await documentWidth(page)).toBeLessThanOrEqual(PHONE.width);
  const cost = await page.getByTestId("activity-cost").first().boundingBox();
  expect(cost!.x + cost!.width).toBeLessThanOrEqual(PHONE.width);
  const energy = await page.getByTestId("energy").boundingBox();
  expect(energy!.x + energy!.width).toBeLessThanOrEqual(PHONE.width);
});

const pages: { name: string; path: string; who: string | null; ready: string }[] = [
  { name: "marketplace", path: "/", who: null, ready: "market-table" },
  { name: "listing", path: `/m/${chatSlug}`, who: null, ready: "listing-measured" },
  { name: "usage", path: "/usage", who: demo.buyer, ready: "activity-table" },
  { name: "keys", path: "/keys", who: demo.buyer, ready: "new-key" },
  { name: "credits", path: "/credits", who: demo.buyer, ready: "balance" },
  { name: "statement", path: `/finance/statements/${new Date().toISOString().slice(0, 7)}`, who: demo.buyer, ready: "buyer-statement" },
  { name: "energy-statement", path: `/usage/energy/${new Date().toISOString().slice(0, 7)}`, who: demo.buyer, ready: "energy-statement" },
  { name: "finance", path: "/finance", who: demo.finance, ready: "trial-balance" },
];

test("screenshots of the main pages (and the buyer's statement) at 1366 px and 390 px, none scrolling sideways", async ({ page }) => {
  // Fourteen full-page loads and three sign-ins: more than one page's budget.
  test.setTimeout(180_000);
  mkdirSync(SHOTS, { recursive: true });
  let signedIn: string | null = null;
  const wide: string[] = [];
  for (const p of pages) {
    if (p.who !== signedIn) {
      if (signedIn) await signOut(page);
      if (p.who) await signIn(page, p.who);
      signedIn = p.who;
    }
    for (const size of [LAPTOP, PHONE]) {
      await page.setViewportSize(size);
      await page.goto(p.path);
      await expect(page.getByTestId(p.ready).first()).toBeVisible();
      await page.waitForLoadState("networkidle");
      await page.screenshot({ path: `${SHOTS}/${p.name}-${size.width}.png`, fullPage: true });
      if ((await documentWidth(page)) > size.width) wide.push(`${p.name} at ${size.width} px`);
    }
  }
  expect(wide).toEqual([]);
  // Every page asks for an icon; the App Router's file convention serves it.
  const icon = await page.request.get("/favicon.ico");
  expect([icon.status(), icon.headers()["content-type"]]).toEqual([200, "image/x-icon"]);
});
