import { expect, type Page } from "@playwright/test";
import { DEMO_KEY_SECRET } from "../db/seed";
import { gatewayPort } from "../playwright.config";

export const DEMO_PASSWORD = "tokenmarket-demo";
export const demo = {
  provider: "provider@demo.tokenmarket.test",
  buyer: "buyer@demo.tokenmarket.test",
  finance: "finance@demo.tokenmarket.test",
};

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@e2e.example`;
}

export async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("user-menu")).toBeVisible();
}

export async function signOut(page: Page) {
  await page.getByTestId("user-menu").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
}

export async function signUp(page: Page, name: string, email: string, password: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/onboarding/);
}

/**
 * Waits until the proxy's /v1/generation says a request (its x-request-id) is in the ledger: usage
 * is billed when the proxy reports it and posted when the settler's next window takes it.
 */
export async function waitUntilSettled(id: string) {
  await expect
    .poll(
      async () => {
        const r = await fetch(`http://localhost:${gatewayPort}/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${DEMO_KEY_SECRET}` } });
        return r.ok ? ((await r.json()) as { data: { settlement: string } }).data.settlement : `HTTP ${r.status}`;
      },
      { timeout: 20_000 },
    )
    .toBe("settled");
}
