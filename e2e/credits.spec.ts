import { expect, test } from "@playwright/test";
import { demo, signIn } from "./helpers";

function dollars(text: string): number {
  return Number(text.replace(/[$,]/g, ""));
}

test("a buyer tops up $25 through the local checkout, sees the new balance and opens the receipt", async ({ page }) => {
  await signIn(page, demo.buyer);
  await page.goto("/credits");
  const before = dollars(await page.getByTestId("balance-available").innerText());

  await page.getByRole("button", { name: "$25" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page).toHaveURL(/\/credits\/checkout\//);
  await expect(page.getByText("Local test checkout.")).toBeVisible();
  await expect(page.getByTestId("checkout-amount")).toHaveText("$25.00");
  await page.getByRole("button", { name: "Pay $25.00" }).click();

  await expect(page).toHaveURL(/\/credits\?topup=/);
  await expect.poll(async () => dollars(await page.getByTestId("balance-available").innerText())).toBeCloseTo(before + 25, 6);
  const row = page.getByTestId("topups").locator("tr", { hasText: "$25.00" }).first();
  await expect(row).toContainText("paid");
  await row.getByRole("link", { name: "Receipt" }).click();
  await expect(page.getByTestId("receipt-amount")).toHaveText("$25.00");
  await expect(page.getByTestId("receipt-org")).toHaveText("Demo Buyer");
  // Printed, the receipt stands alone: no site header or navigation, the receipt itself in full.
  await expect(page.getByRole("banner")).toBeVisible();
  await page.emulateMedia({ media: "print" });
  await expect(page.getByRole("banner")).toBeHidden();
  await expect(page.getByTestId("receipt-amount")).toBeVisible();
});

test("a '20,50' top-up reaches checkout as $20.50, never $2,050, and the paid checkout says so on return", async ({ page }) => {
  await signIn(page, demo.buyer);
  await page.goto("/credits");
  // An amount that could be read two ways is refused in the form's words, before any checkout.
  await page.getByLabel("Amount (USD)").fill("1,000");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page.getByTestId("form-error")).toContainText('Amount (USD): "1,000" could be 1000 or 1.000');
  await expect(page).toHaveURL(/\/credits$/);
  await page.getByLabel("Amount (USD)").fill("20,50");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page).toHaveURL(/\/credits\/checkout\//);
  await expect(page.getByTestId("checkout-amount")).toHaveText("$20.50");
  await page.getByRole("button", { name: "Pay $20.50" }).click();
  await expect(page).toHaveURL(/\/credits\?topup=/);
  const outcome = page.getByTestId("payment-outcome");
  await expect(outcome).toHaveAttribute("data-outcome", "paid");
  await expect(outcome).toContainText("Payment received: $20.50 was added to your balance.");
});

test("a failed checkout returns with a failure banner; an abandoned one can be resumed, then cancelled", async ({ page }) => {
  await signIn(page, demo.buyer);
  await page.goto("/credits");
  await page.getByRole("button", { name: "$25" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.getByRole("button", { name: "Simulate a failed bank payment" }).click();
  await expect(page).toHaveURL(/\/credits\?topup=/);
  const outcome = page.getByTestId("payment-outcome");
  await expect(outcome).toHaveAttribute("data-outcome", "failed");
  await expect(outcome).toContainText("failed: nothing was charged");

  // Abandoned at the checkout page: the top-up stays payable for 24 hours, with a way back and a way out.
  await page.getByRole("button", { name: "$10", exact: true }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page).toHaveURL(/\/credits\/checkout\//);
  const checkoutUrl = new URL(page.url()).pathname;
  await page.goto("/credits");
  const row = page.getByTestId("topups").locator("tbody tr").first();
  await expect(row.getByTestId("topup-status")).toHaveText("open");
  await expect(row).toContainText("payable until");
  await row.getByRole("link", { name: "Resume" }).click();
  await expect(page).toHaveURL(checkoutUrl);
  await expect(page.getByTestId("checkout-amount")).toHaveText("$10.00");
  await page.goto("/credits");
  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row.getByTestId("topup-status")).toHaveText("canceled");
  await expect(row.getByRole("link", { name: "Resume" })).toHaveCount(0);
});
