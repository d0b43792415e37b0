import type { KeyLimitPeriod } from "../../db/schema/keys";
import { DomainError } from "../errors";
import { formatUsd, NANO_PER_USD, parseUsd } from "../ledger/money";

/** Bounds past which a limit is a typo, not a budget. */
export const MAX_SPEND_LIMIT_NANO = 1_000_000n * NANO_PER_USD;
export const MAX_RPM = 1_000_000;
export const MAX_TPM = 1_000_000_000;
export const MAX_ALLOWLIST_ENTRIES = 100;
export const MAX_EXPIRY_MS = 5 * 366 * 86_400_000;
export const MAX_GRACE_SECONDS = 7 * 86_400;

/** A listing slug (`org-slug/model-slug`) or a model family (`llama-3.1-70b`). */
const ALLOWLIST_ENTRY_RE = /^[a-z0-9][a-z0-9._-]{0,79}(\/[a-z0-9][a-z0-9._-]{0,79})?$/;

/** Limits as people send them: dollars as decimal text; null clears a limit; absent leaves it as is. */
export type LimitsInput = {
  spendLimitUsd?: string | null;
  limitPeriod?: KeyLimitPeriod | null;
  modelAllowlist?: string[];
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  expiresAt?: Date | null;
};

export type Limits = {
  spendLimitNano?: bigint | null;
  limitPeriod?: KeyLimitPeriod | null;
  modelAllowlist?: string[];
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  expiresAt?: Date | null;
};

const refuse = (field: string, message: string): never => {
  throw new DomainError("INVALID_INPUT", `${field}: ${message}`, field);
};

function rate(field: string, v: number | null | undefined, max: number, unit: string): number | null | undefined {
  if (v === undefined || v === null) return v;
  if (!Number.isInteger(v)) refuse(field, "must be a whole number");
  if (v < 1) refuse(field, `must be at least 1 ${unit} (leave it empty for no limit)`);
  if (v > max) refuse(field, `must be at most ${max.toLocaleString("en-US")} ${unit}`);
  return v;
}

/**
 * Validates and normalises key limits. Throws DomainError(INVALID_INPUT) naming
 * the first bad field. A spend limit must be > $0 and ≤ $1,000,000 and comes
 * with its period (the two are set and cleared together); rates are whole
 * numbers ≥ 1 up to their bounds; expiry lies in the future, at most 5 years
 * out; allowlist entries are lower-cased, de-duplicated slugs or families.
 */
export function validateLimits(input: LimitsInput, now: Date): Limits {
  const out: Limits = {};

  if (input.spendLimitUsd !== undefined) {
    const text = input.spendLimitUsd?.trim() ?? "";
    if (text === "") {
      if (input.limitPeriod) refuse("spendLimitUsd", "set an amount for the limit period, or clear the period too");
      out.spendLimitNano = null;
      out.limitPeriod = null;
    } else {
      const nano = parseUsd(text, "spendLimitUsd");
      if (nano <= 0n) refuse("spendLimitUsd", "must be more than $0 (leave it empty for no limit)");
      if (nano > MAX_SPEND_LIMIT_NANO) refuse("spendLimitUsd", `must be at most ${formatUsd(MAX_SPEND_LIMIT_NANO)}`);
      if (!input.limitPeriod) refuse("limitPeriod", "choose daily, weekly, monthly or lifetime for the spend limit");
      out.spendLimitNano = nano;
      out.limitPeriod = input.limitPeriod;
    }
  } else if (input.limitPeriod !== undefined) {
    refuse("limitPeriod", "send it together with spendLimitUsd");
  }

  const rpm = rate("rpmLimit", input.rpmLimit, MAX_RPM, "requests per minute");
  if (rpm !== undefined) out.rpmLimit = rpm;
  const tpm = rate("tpmLimit", input.tpmLimit, MAX_TPM, "tokens per minute");
  if (tpm !== undefined) out.tpmLimit = tpm;

  if (input.expiresAt !== undefined) {
    const e = input.expiresAt;
    if (e !== null) {
      if (Number.isNaN(e.getTime())) refuse("expiresAt", "is not a valid date");
      if (e.getTime() <= now.getTime()) refuse("expiresAt", "must be in the future");
      if (e.getTime() - now.getTime() > MAX_EXPIRY_MS) refuse("expiresAt", "must be within 5 years");
    }
    out.expiresAt = e;
  }

  if (input.modelAllowlist !== undefined) {
    const entries = [...new Set(input.modelAllowlist.map((s) => s.trim().toLowerCase()).filter(Boolean))];
    if (entries.length > MAX_ALLOWLIST_ENTRIES) refuse("modelAllowlist", `may list at most ${MAX_ALLOWLIST_ENTRIES} models or families`);
    for (const e of entries) {
      if (!ALLOWLIST_ENTRY_RE.test(e)) refuse("modelAllowlist", `"${e}" is not a listing slug (org/model) or a model family`);
    }
    out.modelAllowlist = entries;
  }
  return out;
}

/** Grace period of a rotation in whole seconds: 0 (revoke the old key now) up to 7 days. */
export function validateGraceSeconds(v: number): number {
  if (!Number.isInteger(v) || v < 0) refuse("graceSeconds", "must be a whole number of seconds, 0 or more");
  if (v > MAX_GRACE_SECONDS) refuse("graceSeconds", "must be at most 7 days");
  return v;
}

type CurrentLimits = { spendLimitNano: bigint | null; rpmLimit: number | null; tpmLimit: number | null };

/**
 * The first limit an edit raises or removes, as the field people know, or null when it
 * only keeps or lowers them. Developers may tighten a key; loosening one is an owner's call.
 */
export function liftedLimit(current: CurrentLimits, next: Limits): string | null {
  const lifted = (was: bigint | number | null, now: bigint | number | null | undefined) => was !== null && now !== undefined && (now === null || now > was);
  if (lifted(current.spendLimitNano, next.spendLimitNano)) return "spendLimitUsd";
  if (lifted(current.rpmLimit, next.rpmLimit)) return "rpmLimit";
  if (lifted(current.tpmLimit, next.tpmLimit)) return "tpmLimit";
  return null;
}
