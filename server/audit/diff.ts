import { formatUsd } from "../ledger/money";

export type FieldChange = { field: string; label: string; before: string; after: string };

/** The words people know for recorded fields; others show as recorded. */
const labels: Record<string, string> = {
  spendLimitNano: "spend limit",
  limitPeriod: "limit period",
  modelAllowlist: "models allowed",
  rpmLimit: "requests per minute",
  tpmLimit: "tokens per minute",
  expiresAt: "expires",
  revokedAt: "revoked",
  inputPer1kNano: "input price per 1k",
  outputPer1kNano: "output price per 1k",
  cachedInputPer1kNano: "cached input price per 1k",
  effectiveFrom: "effective from",
  amountNano: "amount",
};

/** One recorded value in words: nano-USD fields (named …Nano, stored as decimal text) as dollars, lists joined, absent as "—". */
function show(field: string, v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (field.endsWith("Nano") && (typeof v === "string" || typeof v === "number") && /^-?\d+$/.test(String(v))) return formatUsd(BigInt(v));
  if (Array.isArray(v)) return v.length ? v.map((x) => show("", x)).join(", ") : "none";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * An audit entry's before and after as the fields that differ, in the order first seen,
 * each value in words. A creation (no before) lists every field; a removal, every field gone.
 */
export function changedFields(before: unknown, after: unknown): FieldChange[] {
  const b = before && typeof before === "object" ? (before as Record<string, unknown>) : {};
  const a = after && typeof after === "object" ? (after as Record<string, unknown>) : {};
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return fields
    .filter((f) => JSON.stringify(b[f] ?? null) !== JSON.stringify(a[f] ?? null))
    .map((f) => ({ field: f, label: labels[f] ?? f, before: f in b ? show(f, b[f]) : "—", after: f in a ? show(f, a[f]) : "—" }));
}
