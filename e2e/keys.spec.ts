import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import { gatewayPublicUrl } from "../playwright.config";

// The demo buyer creates a key, copies it, finds it by prefix, edits its limit and revokes it.
test.use({ permissions: ["clipboard-read", "clipboard-write"] });

test("create, copy, list, edit and revoke an API key", async ({ page }) => {
  await page.goto("/signin?callbackUrl=/keys");
  await page.getByLabel("Email").fill("buyer@demo.tokenmarket.test");
  await page.getByLabel("Password").fill("tokenmarket-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();

  const name = `e2e key ${Date.now()}`;
  await page.getByTestId("new-key").click();
  const form = page.getByTestId("create-key-form");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Spend limit (USD)").fill("10");
  await form.getByLabel("Limit period").selectOption("monthly");
  await form.getByLabel("Requests per minute").fill("60");
  await form.getByRole("button", { name: "Create key" }).click();

  const panel = page.getByTestId("key-secret-panel");
  await expect(panel).toContainText("you won't see it again");
  const secret = await page.getByTestId("key-secret").inputValue();
  expect(secret).toMatch(/^tm_[0-9A-Za-z]{43}$/);
  // The panel's base URL is the configured proxy, and the new key works there as shown.
  const env = await page.getByTestId("key-env").textContent();
  const baseURL = /OPENAI_BASE_URL=(\S+)/.exec(env ?? "")?.[1];
  expect(baseURL).toBe(gatewayPublicUrl);
  const models = await new OpenAI({ apiKey: secret, baseURL, maxRetries: 0 }).models.list();
  expect(models.data.length).toBeGreaterThan(0);

  await page.getByTestId("copy-key").click();
  await expect(page.getByTestId("copy-key")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  await page.getByTestId("key-secret-done").click();
  await expect(panel).toBeHidden();

  const prefix = secret.slice(0, 11);
  const row = page.locator(`[data-testid=key-row][data-key-prefix="${prefix}"]`);
  await expect(row).toContainText(name);
  await expect(row.getByTestId("key-prefix")).toHaveText(`${prefix}…${secret.slice(-4)}`);
  await expect(row.getByTestId("key-status")).toHaveText("active");
  await expect(row.getByTestId("key-spend")).toContainText("$0.00 / $10.00 per month");
  await expect(row.getByTestId("key-limits")).toContainText("60 req/min");
  // Shown once: after a reload the page holds only the prefix and last 4.
  await page.reload();
  await expect(row).toBeVisible();
  expect(await page.content()).not.toContain(secret);

  await row.getByRole("button", { name: "Edit limits" }).click();
  const edit = page.getByTestId("edit-key-form");
  await expect(edit.getByLabel("Spend limit (USD)")).toHaveValue("10");
  await edit.getByLabel("Spend limit (USD)").fill("25.50");
  await edit.getByLabel("Limit period").selectOption("weekly");
  await edit.getByRole("button", { name: "Save limits" }).click();
  await expect(edit).toBeHidden();
  await expect(row.getByTestId("key-spend")).toContainText("$0.00 / $25.50 per week");

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByTestId("confirm-revoke").click();
  await expect(row.getByTestId("key-status")).toHaveText("revoked");
  await expect(row.getByRole("button", { name: "Revoke" })).toHaveCount(0);
});

test("a bad limit is refused with a message naming the field", async ({ page }) => {
  await page.goto("/signin?callbackUrl=/keys");
  await page.getByLabel("Email").fill("buyer@demo.tokenmarket.test");
  await page.getByLabel("Password").fill("tokenmarket-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await page.getByTestId("new-key").click();
  const form = page.getByTestId("create-key-form");
  await form.getByLabel("Name").fill("too rich");
  await form.getByLabel("Spend limit (USD)").fill("5000000");
  await form.getByRole("button", { name: "Create key" }).click();
  // Named as the form labels it, never by the API's field name.
  await expect(form.getByTestId("form-error")).toContainText("Spend limit (USD): must be at most $1,000,000");
  await expect(form.getByTestId("form-error")).not.toContainText("spendLimitUsd");
  await expect(page.getByTestId("key-secret-panel")).toHaveCount(0);

  // A past expiry date is stopped in the browser, before anything is sent.
  await form.getByLabel("Spend limit (USD)").fill("");
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await form.getByLabel("Expires after (optional)").fill(yesterday);
  await form.getByRole("button", { name: "Create key" }).click();
  expect(await form.getByLabel("Expires after (optional)").evaluate((el: HTMLInputElement) => el.validity.rangeUnderflow)).toBe(true);
  await expect(page.getByTestId("key-secret-panel")).toHaveCount(0);
});
