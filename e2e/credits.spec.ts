import { expect, test } from "@playwright/test";
import { demo, signIn } from "./helpers";

function dollars(text: string): number {
  return Number(text.replace(/[$,]/g, ""));
}

test("a buyer tops up $25 through the local checkout, sees the new balance and opens the receipt", async ({ page }) => {
  await signIn(page, demo.buyer);
  await page.goto("/credits");
  const before = dollars(await page.getByTestId("balance").innerText());

  await page.getByRole("button", { name: "$25" }).click();
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await expect(page).toHaveURL(/\/credits\/checkout\//);
  await expect(page.getByText("Local test checkout.")).toBeVisible();
  await expect(page.getByTestId("checkout-amount")).toHaveText("$25.00");
  await page.getByRole("button", { name: "Pay $25.00" }).click();

  await expect(page).toHaveURL(/\/credits\?topup=/);
  await expect.poll(async () => dollars(await page.getByTestId("balance").innerText())).toBeCloseTo(before + 25, 6);
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
