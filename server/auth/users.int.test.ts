import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAttempts } from "../../db/schema";
import { createTestDb, type TestDb } from "../testing/db";
import { clientIp } from "./client-ip";
import { checkPasswordSignIn, signUp } from "./users";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

const limits = { maxPerEmail: 3, maxPerIp: 5, windowSeconds: 900 };
const open = { ip: null, limits: { maxPerIp: 1000, maxPerWindow: 1000, windowSeconds: 900 } };

describe("password sign-in", () => {
  it("stores only an argon2id hash and accepts the right password, case-insensitively by email", async () => {
    await signUp(t.db, { name: "Ann", email: "ann@test.example", password: "a-long-password", ...open });
    const { rows } = await t.pool.query("select password_hash from users where email = 'ann@test.example'");
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0].password_hash).not.toContain("a-long-password");
    const ok = await checkPasswordSignIn(t.db, { email: "ANN@test.example", password: "a-long-password", ip: "10.0.0.1", limits });
    expect(ok.ok).toBe(true);
  });

  it("refuses a wrong password and an unknown email alike", async () => {
    const wrong = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "wrong-password", ip: "10.0.0.2", limits });
    const unknown = await checkPasswordSignIn(t.db, { email: "nobody@test.example", password: "whatever-pass", ip: "10.0.0.2", limits });
    expect(wrong).toEqual({ ok: false, reason: "invalid" });
    expect(unknown).toEqual({ ok: false, reason: "invalid" });
  });

  it("rate-limits an email after too many failures, even with the right password", async () => {
    await signUp(t.db, { name: "Bob", email: "bob@test.example", password: "bobs-password", ...open });
    for (let i = 0; i < limits.maxPerEmail; i++) {
      const r = await checkPasswordSignIn(t.db, { email: "bob@test.example", password: "nope-nope-nope", ip: `10.1.0.${i}`, limits });
      expect(r).toEqual({ ok: false, reason: "invalid" });
    }
    const blocked = await checkPasswordSignIn(t.db, { email: "bob@test.example", password: "bobs-password", ip: "10.1.0.99", limits });
    expect(blocked).toEqual({ ok: false, reason: "rate_limited" });
  });

  it("rate-limits an IP across emails", async () => {
    for (let i = 0; i < limits.maxPerIp; i++) {
      await checkPasswordSignIn(t.db, { email: `spray${i}@test.example`, password: "guess-guess", ip: "10.9.9.9", limits });
    }
    const blocked = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "a-long-password", ip: "10.9.9.9", limits });
    expect(blocked).toEqual({ ok: false, reason: "rate_limited" });
    const elsewhere = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "a-long-password", ip: "10.9.9.10", limits });
    expect(elsewhere.ok).toBe(true);
  });

  it("failures outside the window no longer count", async () => {
    await signUp(t.db, { name: "Cy", email: "cy@test.example", password: "cys-password", ...open });
    const old = new Date(Date.now() - 3600_000);
    await t.db.insert(signInAttempts).values(Array.from({ length: 10 }, () => ({ email: "cy@test.example", ip: "10.2.0.1", succeeded: false, at: old })));
    const r = await checkPasswordSignIn(t.db, { email: "cy@test.example", password: "cys-password", ip: "10.2.0.1", limits });
    expect(r.ok).toBe(true);
  });
});

// Issue #15: failures were counted, then the password verified, then the attempt recorded,
// and the address came from a client-supplied X-Forwarded-For.
describe("sign-in limits under attack", () => {
  it("60 parallel wrong passwords: at most the limit are checked", async () => {
    await signUp(t.db, { name: "Dee", email: "dee@test.example", password: "dees-password", ...open });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => checkPasswordSignIn(t.db, { email: "dee@test.example", password: `guess-${i}-guess`, ip: null, limits })),
    );
    const checked = results.filter((r) => !r.ok && r.reason === "invalid").length;
    expect(checked).toBeLessThanOrEqual(limits.maxPerEmail);
    expect(results.filter((r) => !r.ok && r.reason === "rate_limited").length).toBeGreaterThanOrEqual(60 - limits.maxPerEmail);
  });

  it("a spoofed X-Forwarded-For neither dodges the per-IP limit nor locks out the address it names", async () => {
    const hops = 1;
    // The proxy in front appends the real peer (198.51.100.1); the client rotates what it wrote before it.
    const from = (spoofed: string) => clientIp(new Headers({ "x-forwarded-for": `${spoofed}, 198.51.100.1` }), hops);
    for (let i = 0; i < limits.maxPerIp; i++) {
      await checkPasswordSignIn(t.db, { email: `xff${i}@test.example`, password: "guess-guess", ip: from(`10.77.0.${i}`), limits });
    }
    const blocked = await checkPasswordSignIn(t.db, { email: "ann@test.example", password: "a-long-password", ip: from("10.77.0.200"), limits });
    expect(blocked).toEqual({ ok: false, reason: "rate_limited" });
    // The victim's own address, named by the attacker, was never counted against it.
    await signUp(t.db, { name: "Eve", email: "eve@test.example", password: "eves-password", ...open });
    const victim = clientIp(new Headers({ "x-forwarded-for": "10.77.0.1" }), hops);
    expect((await checkPasswordSignIn(t.db, { email: "eve@test.example", password: "eves-password", ip: victim, limits })).ok).toBe(true);
    // Without a trusted proxy the header is ignored altogether.
    expect(clientIp(new Headers({ "x-forwarded-for": "10.77.0.1" }), 0)).toBeNull();
  });

  it("sign-up is limited per address and in all, before any password is hashed", async () => {
    const tight = { maxPerIp: 2, maxPerWindow: 1000, windowSeconds: 900 };
    const attempt = (i: number, ip: string | null, l = tight) =>
      signUp(t.db, { name: "S", email: `signup${i}-${ip}@test.example`, password: "long-enough-pass", ip, limits: l });
    const parallel = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => attempt(i, "203.0.113.50")));
    expect(parallel.filter((r) => r.status === "fulfilled").length).toBeLessThanOrEqual(2);
    expect(parallel.find((r) => r.status === "rejected")).toMatchObject({
      reason: { code: "RATE_LIMITED", message: "Too many sign-ups from here; try again in 15 minutes" },
    });
    await expect(attempt(97, "203.0.113.51")).resolves.toBeDefined();
    await expect(attempt(98, "203.0.113.51")).resolves.toBeDefined();
    await expect(attempt(99, "203.0.113.51")).rejects.toMatchObject({ code: "RATE_LIMITED" });
    expect((await t.pool.query("select count(*)::int n from users where email like 'signup99-%'")).rows[0].n).toBe(0);
    const { rows } = await t.pool.query("select count(*)::int n from sign_up_attempts");
    await expect(attempt(100, null, { maxPerIp: 1000, maxPerWindow: rows[0].n, windowSeconds: 900 })).rejects.toMatchObject({ code: "RATE_LIMITED" });
  });
});
