import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localSecret } from "../../scripts/lib/local-secrets";
import { parseEnv } from "../env";
import { paymentsForEnv } from "./config";

// Issue #15: without both Stripe keys the platform ran the local checkout (free credit) even in production.
describe("paymentsForEnv", () => {
  const local = { STRIPE_LOCAL_WEBHOOK_SECRET: "whsec_local_0123456789abcdef" };
  const stripe = { STRIPE_SECRET_KEY: "sk_test_0123456789", STRIPE_WEBHOOK_SECRET: "whsec_0123456789" };
  const rows: [string, Record<string, string>, "stripe" | "local" | null][] = [
    ["production without Stripe keys: no top-ups", { NODE_ENV: "production", ...local }, null],
    ["production with one Stripe key only: no top-ups", { NODE_ENV: "production", ...local, STRIPE_SECRET_KEY: stripe.STRIPE_SECRET_KEY }, null],
    ["production with LOCAL_CHECKOUT=true: local", { NODE_ENV: "production", LOCAL_CHECKOUT: "true", ...local }, "local"],
    ["production with both keys: Stripe", { NODE_ENV: "production", ...local, ...stripe }, "stripe"],
    ["development without keys: local", { NODE_ENV: "development", ...local }, "local"],
  ];
  it.each(rows)("%s", (_label, source, mode) => {
    expect(paymentsForEnv(parseEnv(source))?.mode ?? null).toBe(mode);
  });
});

describe("localSecret", () => {
  it("tightens secrets.json to 0600 on every start, not only when it creates it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-"));
    try {
      const first = localSecret(dir, "AUTH_SECRET");
      fs.chmodSync(path.join(dir, "secrets.json"), 0o644);
      expect(localSecret(dir, "AUTH_SECRET")).toBe(first);
      expect(fs.statSync(path.join(dir, "secrets.json")).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
