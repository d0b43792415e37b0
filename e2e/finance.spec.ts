import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { reportDemoUsage } from "./demo-usage";
import { demo, signIn } from "./helpers";

/** Usage of the demo buyer at the demo provider (3M input and 1M output tokens of Llama 3.1 70B), reported as a proxy does. */
const reportUsage = (baseURL: string) =>
  reportDemoUsage(
    baseURL,
    [2_000_000, 1_000_000].map((inputTokens) => ({ inputTokens, outputTokens: 500_000 })),
  );

test("finance opens the trial balance, drills from a usage transfer to its events and from a top-up to its Stripe event, records a payout and downloads the journal CSV", async ({
  page,
  baseURL,
}) => {
  const eventIds = await reportUsage(baseURL!);
  await signIn(page, demo.finance);

  await page.goto("/finance");
  await expect(page.getByRole("heading", { name: "Platform books" })).toBeVisible();
  await expect(page.getByTestId("tb-badge")).toHaveText("PASS");
  await expect(page.getByTestId("tb-debits")).toHaveText(await page.getByTestId("tb-credits").innerText());
  await expect(page.locator('[data-testid=tb-row][data-kind="provider_payable"]')).toBeVisible();
  // The ledger's lag behind acknowledged usage: the worker's settlement windows took the usage just reported.
  await expect(page.getByTestId("ledger-windows")).toContainText(/^last .+, lag [\d.,]+ s; worst of the last \d+: [\d.,]+ s$/);
  await expect(page.getByTestId("ledger-lag")).toHaveText(/^[\d.,]+ s$/);

  // Accounts: a kind in the trial balance opens its accounts; a search narrows them by organisation.
  await page.locator('[data-testid=tb-row][data-kind="provider_payable"]').getByRole("link").click();
  await expect(page.getByTestId("accounts")).toContainText("Demo Provider");
  await page.getByRole("searchbox", { name: "Search organisations" }).fill("no such organisation");
  await expect(page.getByText("No matching accounts")).toBeVisible();
  await page.getByRole("searchbox", { name: "Search organisations" }).fill("demo prov");
  await expect(page.getByTestId("accounts").locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("accounts")).toContainText("Demo Provider");

  // Drill-down: a usage transfer → the usage events its settlement covered.
  await page.getByRole("navigation", { name: "Finance" }).getByRole("link", { name: "Journal" }).click();
  await page.getByLabel("Code").selectOption("usage");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("journal-row").first()).toHaveAttribute("data-code", "usage");
  await page.getByTestId("journal-row").first().getByTestId("transfer-link").click();
  await expect(page.getByTestId("transfer-source")).toHaveAttribute("data-source", "usage");
  await expect(page.getByTestId("usage-event")).toHaveCount(2);
  await expect(page.getByTestId("usage-settlement")).toHaveAttribute("data-kind", "usage_window");
  await expect(page.getByTestId("usage-settlement-events")).toHaveText("2");
  for (const id of eventIds) await expect(page.getByTestId("usage-events")).toContainText(id.slice(0, 8));

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
  expect(before).toBeGreaterThanOrEqual(1.25);
  const reference = `E2E-${Date.now()}`;
  const form = page.getByTestId("payout-form");
  await form.getByLabel("Provider").selectOption({ label: "Demo Provider" });
  await form.getByLabel("Amount (USD)").fill("1.25");
  await form.getByLabel("Bank reference").fill(reference);
  await form.getByRole("button", { name: "Record payout" }).click();
  await expect(page.getByTestId("payout-recorded")).toHaveText("Payout of $1.25 recorded.");
  await expect.poll(async () => Number((await row.getByTestId("payable-amount").innerText()).replace(/[$,]/g, ""))).toBeCloseTo(before - 1.25, 9);
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
  expect(
    csv
      .slice(1)
      .filter(Boolean)
      .every((line) => line.includes(",payout,")),
  ).toBe(true);
});

test("reconciliation: a month's close message stays with that month; integrity says it covers the whole ledger", async ({ page }) => {
  await signIn(page, demo.finance);
  await page.goto("/finance/reconciliation");
  // A month long before the demo's data: every report passes, so it can close (npm test starts from an empty data directory).
  await page.getByLabel("Month (UTC)").fill("2020-01");
  await expect(page.getByTestId("report-integrity")).toContainText("Ledger integrity (whole ledger, as of now)");
  await expect(page.getByTestId("report-integrity")).toContainText("Posted in the period");
  page.once("dialog", (d) => void d.accept());
  await page.getByTestId("close-period").click();
  await expect(page.getByTestId("close-done")).toHaveText("2020-01 is closed.");
  await page.getByLabel("Month (UTC)").fill("2020-02");
  await expect(page.getByTestId("close-done")).toHaveCount(0);
  await expect(page.getByTestId("close-period")).toBeVisible();
  await page.getByLabel("Month (UTC)").fill("2020-01");
  await expect(page.getByTestId("period-closed")).toBeVisible();
  await expect(page.getByTestId("close-done")).toHaveCount(0);
});
