import { expect, test } from "@playwright/test";
import { demo, signIn, signOut, signUp, uniqueEmail } from "./helpers";

test.use({ permissions: ["clipboard-read", "clipboard-write"] });

test("each demo user can sign in and lands in their organisation", async ({ page }) => {
  for (const [email, org] of [
    [demo.buyer, "Demo Buyer"],
    [demo.provider, "Demo Provider"],
    [demo.finance, "tokenmarket platform"],
  ] as const) {
    await signIn(page, email);
    await page.goto("/settings");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(org);
    await signOut(page);
  }
});

test("a wrong password shows an error and does not sign in", async ({ page }) => {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(demo.buyer);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signin-error")).toHaveText(/Wrong email or password/);
  await expect(page.getByTestId("user-menu")).toHaveCount(0);
});

test("after too many failures the lockout states the configured window", async ({ page }) => {
  // An email of its own: five failures lock it (SIGNIN_MAX_FAILURES_PER_EMAIL), the window is the default 900 s.
  const email = uniqueEmail("locked");
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not-the-password");
  for (let i = 0; i < 6; i++) {
    const answered = page.waitForResponse((r) => r.url().includes("/api/auth/callback/credentials"));
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await answered;
  }
  await expect(page.getByTestId("signin-error")).toHaveText("Too many failed attempts. Sign-in is paused for up to 15 minutes; try again after that.");
});

test("sign up, create an organisation, invite a member who accepts, switch organisation, sign out", async ({ page }) => {
  const ownerEmail = uniqueEmail("owner");
  const memberEmail = uniqueEmail("member");
  const password = "correct horse battery";

  await signUp(page, "Olive Owner", ownerEmail, password);
  await page.getByLabel("Name").fill("Acme Labs");
  await page.getByRole("button", { name: "Create organisation" }).click();
  // A new organisation lands on its next steps: top up, create a key, or list a model.
  await expect(page).toHaveURL(/\/onboarding\/next$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Acme Labs is ready");
  await expect(page.getByTestId("next-topup")).toHaveAttribute("href", "/credits");
  await expect(page.getByTestId("next-key")).toHaveAttribute("href", "/keys");
  await expect(page.getByTestId("next-list")).toHaveAttribute("href", "/models/new");
  await page.getByRole("link", { name: "Invite your team" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Acme Labs");
  await expect(page.getByTestId("my-role")).toHaveText("owner");

  await page.getByLabel("Invite email").fill(memberEmail);
  await page.getByLabel("Invite role").selectOption("developer");
  await page.getByRole("button", { name: "Create invite link" }).click();
  const link = await page.getByTestId("invite-link").inputValue();
  expect(link).toMatch(/\/invite\/[\w-]+$/);
  // The whole link is visible (it wraps, nothing scrolls out of view) and copies in one click.
  const box = page.getByTestId("invite-link");
  expect(await box.evaluate((el) => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight)).toBe(true);
  await page.getByTestId("copy-invite-link").click();
  await expect(page.getByTestId("copy-invite-link")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  // The same email cannot be invited twice while the invite is pending.
  await page.getByLabel("Invite email").fill(memberEmail);
  await page.getByRole("button", { name: "Create invite link" }).click();
  await expect(page.getByTestId("form-error")).toContainText(`${memberEmail} already has a pending invite`);
  // The owner's audit log has the organisation's creation and the invite, as changed fields rather than JSON.
  await page.goto("/finance/audit");
  const invited = page.locator('[data-testid=audit-row][data-action="member.invite"]');
  await expect(invited.getByTestId("audit-changes")).toContainText(`email — → ${memberEmail}`);
  await expect(invited.getByTestId("audit-changes")).toContainText("role — → developer");
  await expect(page.locator('[data-testid=audit-row][data-action="org.create"]')).toContainText("Acme Labs");
  await page.goto("/settings");
  await signOut(page);

  await signUp(page, "Mo Member", memberEmail, password);
  await page.goto(new URL(link).pathname);
  await expect(page.getByRole("heading", { name: "Join Acme Labs" })).toBeVisible();
  await page.getByRole("button", { name: "Accept invitation" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Acme Labs");
  await expect(page.getByTestId("my-role")).toHaveText("developer");
  await expect(page.getByTestId("members")).toContainText(ownerEmail);
  await expect(page.getByTestId("members")).toContainText(memberEmail);

  // A second organisation of the member's own, then switch back.
  await page.getByTestId("org-switcher").selectOption("__new");
  await expect(page).toHaveURL(/\/onboarding/);
  await page.getByLabel("Name").fill("Member Co");
  await page.getByRole("button", { name: "Create organisation" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Member Co is ready");
  await page.goto("/settings");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Member Co");
  await page.getByTestId("org-switcher").selectOption({ label: "Acme Labs · developer" });
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Acme Labs");

  await signOut(page);
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/signin/);
});
