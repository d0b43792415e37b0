import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { eq } from "drizzle-orm";
import { createDb, createPool } from "../db/client";
import { organizations } from "../db/schema";
import { uuidv7 } from "../server/lib/ids";
import { ensureAccount, postTransfers } from "../server/ledger/service";
import { demo, signIn } from "./helpers";

// The e2e platform's embedded database (see playwright.config.ts and scripts/lib/embedded-pg.ts).
const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${process.env.E2E_PG_PORT ?? "54340"}/tokenmarket`;

/**
 * Settled usage the demo buyer owes the demo provider, posted the way settlement posts it
 * (buyer credits → provider payable and platform revenue, ref usage_settlement), so there
 * is something to pay out.
 */
async function settleDemoUsage() {
  const pool = createPool(databaseUrl, 2);
  try {
    const db = createDb(pool);
    const [buyer] = await db.select().from(organizations).where(eq(organizations.slug, "demo-buyer"));
    const [provider] = await db.select().from(organizations).where(eq(organizations.slug, "demo-provider"));
    const credits = await ensureAccount(db, { orgId: buyer!.id, kind: "buyer_credits" });
    const payable = await ensureAccount(db, { orgId: provider!.id, kind: "provider_payable" });
    const revenue = await ensureAccount(db, { orgId: null, kind: "platform_revenue" });
    const ref = { kind: "usage_settlement", id: uuidv7() };
    await db.transaction((tx) =>
      postTransfers(tx, [
        { id: uuidv7(), debitAccountId: credits.id, creditAccountId: payable.id, amountNano: 1_800_000_000n, code: "usage", ref },
        { id: uuidv7(), debitAccountId: credits.id, creditAccountId: revenue.id, amountNano: 200_000_000n, code: "usage", ref },
      ]),
    );
  } finally {
    await pool.end();
  }
}

test("finance opens the trial balance, drills to a top-up's Stripe event, records a payout and downloads the journal CSV", async ({ page }) => {
  await settleDemoUsage();
  await signIn(page, demo.finance);

  await page.goto("/finance");
  await expect(page.getByRole("heading", { name: "Platform books" })).toBeVisible();
  await expect(page.getByTestId("tb-badge")).toHaveText("PASS");
  await expect(page.getByTestId("tb-debits")).toHaveText(await page.getByTestId("tb-credits").innerText());
  await expect(page.locator('[data-testid=tb-row][data-kind="provider_payable"]')).toBeVisible();

  // Drill-down: the demo top-up's transfer → the stored checkout event and its payload.
  await page.getByRole("navigation", { name: "Finance" }).getByRole("link", { name: "Journal" }).click();
  await page.getByLabel("Code").selectOption("topup");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("journal-row").first()).toHaveAttribute("data-code", "topup");
  await page.getByTestId("journal-row").first().getByTestId("transfer-link").click();
  await expect(page.getByTestId("transfer-source")).toHaveAttribute("data-source", "topup");
  await expect(page.getByTestId("stripe-event-type").first()).toHaveText("checkout.session.completed");
  await expect(page.getByTestId("stripe-event-payload").first()).toContainText('"id": "cs_local_');

  // A payout to the demo provider, within what it is owed.
  await page.getByRole("navigation", { name: "Finance" }).getByRole("link", { name: "Payouts" }).click();
  const row = page.locator('[data-testid=payable-row][data-org="Demo Provider"]');
  const before = Number((await row.getByTestId("payable-amount").innerText()).replace(/[$,]/g, ""));
  expect(before).toBeGreaterThanOrEqual(1.8);
  const reference = `E2E-${Date.now()}`;
  const form = page.getByTestId("payout-form");
  await form.getByLabel("Provider").selectOption({ label: "Demo Provider" });
  await form.getByLabel("Amount (USD)").fill("1.25");
  await form.getByLabel("Bank reference").fill(reference);
  await form.getByRole("button", { name: "Record payout" }).click();
  await expect(page.getByTestId("payout-recorded")).toHaveText("Payout of $1.25 recorded.");
  await expect
    .poll(async () => Number((await row.getByTestId("payable-amount").innerText()).replace(/[$,]/g, "")))
    .toBeCloseTo(before - 1.25, 9);
  await page.getByTestId("payouts").locator("tr", { hasText: reference }).getByTestId("transfer-link").click();
  await expect(page.getByTestId("transfer-source")).toHaveAttribute("data-source", "payout");
  await expect(page.getByTestId("payout-bank-reference")).toHaveText(reference);

  // The journal as CSV (streamed by the route handler).
  await page.goto("/finance/journal");
  await page.getByLabel("Code").selectOption("payout");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("journal-row").first()).toHaveAttribute("data-code", "payout");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("journal-csv").click()]);
  expect(download.suggestedFilename()).toMatch(/^journal-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = fs.readFileSync((await download.path())!, "utf8").split("\r\n");
  expect(csv[0]).toBe(
    "transfer_id,created_at,type,code,amount_usd,amount_nano,debit_account_id,debit_kind,debit_org,credit_account_id,credit_kind,credit_org,ref_kind,ref_id,pending_id",
  );
  expect(csv.some((line) => /,single,payout,1\.25,1250000000,[0-9a-f-]+,provider_payable,Demo Provider,[0-9a-f-]+,payouts,,payout,/.test(line))).toBe(true);
  expect(csv.slice(1).filter(Boolean).every((line) => line.includes(",payout,"))).toBe(true);
});
