import { expect, test } from "@playwright/test";
import { sql } from "drizzle-orm";
import { reportDemoUsage, withDb } from "./demo-usage";
import { demo, signIn } from "./helpers";

/** $11.80 of the demo buyer's usage at the demo provider (20M input tokens of Llama 3.1 70B at $0.59 per 1M). */
const reportUsage = (baseURL: string) =>
  reportDemoUsage(
    baseURL,
    [0, 1, 2, 3].map(() => ({ inputTokens: 5_000_000, outputTokens: 0 })),
  );

test("the demo provider connects, finance previews and runs payouts, the provider sees the payout and its statement; reconciliation passes, then fails on a planted difference", async ({
  browser,
  baseURL,
}) => {
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
  // Once the preview has loaded, nothing is left to pay: a sub-cent rest stays funded for the next run (run-plan.ts).
  await expect(finance.getByTestId("run-preview").or(finance.getByText("No funded earnings"))).toBeVisible();
  const rest = finance.locator('[data-testid=run-line][data-org="Demo Provider"]');
  if (await rest.count()) {
    await expect(rest).toHaveAttribute("data-decision", "below_minimum");
    await expect(rest.locator("td").nth(2)).toHaveText("$0.00");
  }

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
  await withDb((db) =>
    db.execute(sql`update connect_payouts set amount_cents = amount_cents + 1 where id = (select id from connect_payouts order by created_at desc limit 1)`),
  );
  await finance.reload();
  await expect(finance.getByTestId("report-payouts-status")).toHaveAttribute("data-status", "fail");
  await expect(finance.getByTestId("report-payouts")).toContainText("vs ledger");
  // Put it back: the books agree again.
  await withDb((db) =>
    db.execute(sql`update connect_payouts set amount_cents = amount_cents - 1 where id = (select id from connect_payouts order by created_at desc limit 1)`),
  );
  await finance.reload();
  await expect(finance.getByTestId("report-payouts-status")).toHaveAttribute("data-status", "pass");
});
