import { describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import { validateGraceSeconds, validateLimits, type LimitsInput } from "./limits";

const now = new Date("2026-03-15T12:00:00Z");
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

describe("validateLimits accepts and normalises", () => {
  const rows: [string, LimitsInput, Record<string, unknown>][] = [
    ["nothing set", {}, {}],
    ["spend limit with period", { spendLimitUsd: "25.50", limitPeriod: "monthly" }, { spendLimitNano: 25_500_000_000n, limitPeriod: "monthly" }],
    ["the smallest unit", { spendLimitUsd: "0.000000001", limitPeriod: "daily" }, { spendLimitNano: 1n, limitPeriod: "daily" }],
    ["exactly $1,000,000", { spendLimitUsd: "1000000", limitPeriod: "lifetime" }, { spendLimitNano: 1_000_000_000_000_000n, limitPeriod: "lifetime" }],
    ["clearing the spend limit clears the period", { spendLimitUsd: null }, { spendLimitNano: null, limitPeriod: null }],
    ["an empty amount clears too", { spendLimitUsd: "  ", limitPeriod: null }, { spendLimitNano: null, limitPeriod: null }],
    ["rates at their bounds", { rpmLimit: 1_000_000, tpmLimit: 1 }, { rpmLimit: 1_000_000, tpmLimit: 1 }],
    ["rates cleared", { rpmLimit: null, tpmLimit: null }, { rpmLimit: null, tpmLimit: null }],
    ["expiry tomorrow", { expiresAt: days(1) }, { expiresAt: days(1) }],
    ["no expiry", { expiresAt: null }, { expiresAt: null }],
    [
      "allowlist trimmed, lower-cased, de-duplicated",
      { modelAllowlist: [" Demo-Provider/Llama-3 ", "demo-provider/llama-3", "llama-3.1-70b", ""] },
      { modelAllowlist: ["demo-provider/llama-3", "llama-3.1-70b"] },
    ],
  ];
  it.each(rows)("%s", (_label, input, expected) => {
    expect(validateLimits(input, now)).toEqual(expected);
  });
});

describe("validateLimits refuses, naming the field", () => {
  const rows: [string, LimitsInput, string, RegExp][] = [
    ["negative spend", { spendLimitUsd: "-5", limitPeriod: "daily" }, "spendLimitUsd", /more than \$0/],
    ["zero spend", { spendLimitUsd: "0", limitPeriod: "daily" }, "spendLimitUsd", /more than \$0/],
    ["absurd spend", { spendLimitUsd: "1000000.000000001", limitPeriod: "daily" }, "spendLimitUsd", /at most \$1,000,000/],
    ["not a number", { spendLimitUsd: "ten", limitPeriod: "daily" }, "spendLimitUsd", /not a decimal dollar amount/],
    ["too many decimals", { spendLimitUsd: "0.0000000001", limitPeriod: "daily" }, "spendLimitUsd", /more than 9 decimals/],
    ["spend without a period", { spendLimitUsd: "10" }, "limitPeriod", /choose daily/],
    ["period without spend", { limitPeriod: "daily" }, "limitPeriod", /together with spendLimitUsd/],
    ["period with an empty amount", { spendLimitUsd: "", limitPeriod: "daily" }, "spendLimitUsd", /set an amount/],
    ["negative rpm", { rpmLimit: -1 }, "rpmLimit", /at least 1/],
    ["zero rpm", { rpmLimit: 0 }, "rpmLimit", /at least 1/],
    ["absurd rpm", { rpmLimit: 1_000_001 }, "rpmLimit", /at most 1,000,000/],
    ["fractional rpm", { rpmLimit: 1.5 }, "rpmLimit", /whole number/],
    ["absurd tpm", { tpmLimit: 1_000_000_001 }, "tpmLimit", /at most 1,000,000,000/],
    ["negative tpm", { tpmLimit: -100 }, "tpmLimit", /at least 1/],
    ["expiry in the past", { expiresAt: days(-1) }, "expiresAt", /in the future/],
    ["expiry now", { expiresAt: now }, "expiresAt", /in the future/],
    ["expiry in 6 years", { expiresAt: days(6 * 366) }, "expiresAt", /within 5 years/],
    ["invalid date", { expiresAt: new Date("nope") }, "expiresAt", /not a valid date/],
    ["allowlist entry with spaces", { modelAllowlist: ["gpt 4"] }, "modelAllowlist", /"gpt 4" is not a listing slug/],
    ["allowlist entry with two slashes", { modelAllowlist: ["a/b/c"] }, "modelAllowlist", /"a\/b\/c"/],
    ["allowlist too long", { modelAllowlist: Array.from({ length: 101 }, (_, i) => `m${i}`) }, "modelAllowlist", /at most 100/],
  ];
  it.each(rows)("%s", (_label, input, field, message) => {
    let err: unknown;
    try {
      validateLimits(input, now);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).field).toBe(field);
    expect((err as DomainError).message).toMatch(new RegExp(`^${field}: `));
    expect((err as DomainError).message).toMatch(message);
  });
});

describe("validateGraceSeconds", () => {
  it.each([
    ["none", 0, true],
    ["an hour", 3600, true],
    ["seven days", 7 * 86_400, true],
    ["more than seven days", 7 * 86_400 + 1, false],
    ["negative", -1, false],
    ["fractional", 1.5, false],
  ])("%s", (_label, v, ok) => {
    if (ok) expect(validateGraceSeconds(v)).toBe(v);
    else expect(() => validateGraceSeconds(v)).toThrow(/graceSeconds/);
  });
});
