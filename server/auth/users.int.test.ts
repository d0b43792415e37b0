import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAttempts } from "../../db/schema";
import { createTestDb, type TestDb } from "../testing/db";
import { checkPasswordSignIn, signUp } from "./users";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

const limits = { maxPerEmail: 3, maxPerIp: 5, windowSeconds: 900 };

describe("password sign-in", () => {
  it("stores only an argon2id hash and accepts the right password, case-insensitively by email", async () => {
    await signUp(t.db, { name: "Ann", email: "ann@test.example", password: "a-long-password" });
    const { rows } = await t.pool.query("select password_hash from users where email = 'ann@test.example'");
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0].password_hash).not.toContain("a-long-password");
    const ok = await checkPasswordSignIn(t.db, { email: "ANN@test.example", password: "a-long-password", ip: "10.0.0.1" }, limits);
    expect(ok.ok).toBe(true);
  });

  it("refuses a wrong password and an unknown email alike", async () => {
    const wrong = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "wrong-password", ip: "10.0.0.2" }, limits);
    const unknown = await checkPasswordSignIn(t.db, { email: "nobody@test.example", password: "whatever-pass", ip: "10.0.0.2" }, limits);
    expect(wrong).toEqual({ ok: false, reason: "invalid" });
    expect(unknown).toEqual({ ok: false, reason: "invalid" });
  });

  it("rate-limits an email after too many failures, even with the right password", async () => {
    await signUp(t.db, { name: "Bob", email: "bob@test.example", password: "bobs-password" });
    for (let i = 0; i < limits.maxPerEmail; i++) {
      const r = await checkPasswordSignIn(t.db, { email: "bob@test.example", password: "nope-nope-nope", ip: `10.1.0.${i}` }, limits);
      expect(r).toEqual({ ok: false, reason: "invalid" });
    }
    const blocked = await checkPasswordSignIn(t.db, { email: "bob@test.example", password: "bobs-password", ip: "10.1.0.99" }, limits);
    expect(blocked).toEqual({ ok: false, reason: "rate_limited" });
  });

  it("rate-limits an IP across emails", async () => {
    for (let i = 0; i < limits.maxPerIp; i++) {
      await checkPasswordSignIn(t.db, { email: `spray${i}@test.example`, password: "guess-guess", ip: "10.9.9.9" }, limits);
    }
    const blocked = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "a-long-password", ip: "10.9.9.9" }, limits);
    expect(blocked).toEqual({ ok: false, reason: "rate_limited" });
    const elsewhere = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "a-long-password", ip: "10.9.9.10" }, limits);
    expect(elsewhere.ok).toBe(true);
  });

  it("failures outside the window no longer count", async () => {
    await signUp(t.db, { name: "Cy", email: "cy@test.example", password: "cys-password" });
    const old = new Date(Date.now() - 3600_000);
    await t.db.insert(signInAttempts).values(
      Array.from({ length: 10 }, () => ({ email: "cy@test.example", ip: "10.2.0.1", succeeded: false, at: old })),
    );
    const r = await checkPasswordSignIn(t.db, { email: "cy@test.example", password: "cys-password", ip: "10.2.0.1" }, limits);
    expect(r.ok).toBe(true);
  });
});
