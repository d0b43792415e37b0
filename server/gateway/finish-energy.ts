import { type FinishReason, MAX_JOULES_PER_TOKEN, maxEnergyJoules, type UsageEvent } from "../usage/contract";

/**
 * How a response ended and the energy it took, as the usage event records them (issue #21).
 * No I/O: the relays hand over what the upstream said, billing.ts asks these rules.
 *
 * Finish reason: the upstream's own (`choices[0].finish_reason` of a JSON answer, the last one a
 * stream carried) normalised to the contract's few values; a request that did not end by itself
 * is `aborted` (the buyer left) or `error` (the upstream broke off, the proxy cut it, or a stream
 * stopped with neither a finish reason nor `[DONE]`).
 *
 * Energy: the `x-energy-joules` response header (decimal joules), else `usage.energy_joules` in
 * the JSON body or the stream's final usage chunk. A value that is not a finite, non-negative
 * number within MAX_JOULES_PER_TOKEN of the billed tokens is ignored with a reason to log:
 * energy never changes what a request costs, and never stops it being billed.
 */

/** Upstream spellings of the contract's finish reasons (OpenAI's, and those of servers that speak a near dialect). */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  stop: "stop",
  eos: "stop",
  end_turn: "stop",
  stop_sequence: "stop",
  length: "length",
  max_tokens: "length",
  model_length: "length",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  tool_use: "tool_calls",
  content_filter: "content_filter",
  error: "error",
};

/** The event's finish reason from how the request ended and what the upstream said (`sawEnd`: a stream's `[DONE]`, always true for JSON). */
export function finishReasonOf(status: UsageEvent["status"], upstream: string | null, sawEnd: boolean): FinishReason {
  if (status === "aborted") return "aborted";
  if (status === "error") return "error";
  if (upstream === null) return sawEnd ? "unknown" : "error";
  return Object.hasOwn(FINISH_REASONS, upstream) ? FINISH_REASONS[upstream]! : "unknown";
}

const FINISH_KEY = Buffer.from('"finish_reason":');

/**
 * The first `finish_reason` string of a JSON answer (choices[0]'s: choices come first in an
 * OpenAI answer), found by a byte search. A quote inside a JSON string is escaped, so the key
 * cannot be matched inside content. Null when absent, null or not a short string.
 */
export function jsonFinishReason(raw: Buffer): string | null {
  const at = raw.indexOf(FINISH_KEY);
  return at === -1 ? null : stringValueAt(raw, at + FINISH_KEY.length, raw.length);
}

/** The JSON string starting at `from` (after optional spaces) when it is short and unescaped, else null. */
export function stringValueAt(data: Buffer, from: number, end: number): string | null {
  let s = from;
  while (s < end && data[s] === 32) s++;
  if (data[s] !== 34 /* " */) return null;
  for (let e = s + 1; e < end && e - s <= 32; e++) {
    if (data[e] === 34) return data.toString("latin1", s + 1, e);
    if (data[e] === 92 /* \ */) return null;
  }
  return null;
}

/** What the upstream said about energy, unchecked: where it came from and the value as sent. */
export type EnergyClaim = { source: "x-energy-joules header" | "usage.energy_joules"; value: unknown };

/** `energy_joules` of an upstream's usage object, when it is one. */
export function energyField(usage: unknown): unknown {
  return usage !== null && typeof usage === "object" ? (usage as { energy_joules?: unknown }).energy_joules : undefined;
}

/** The claim to check: the header when there is one (one header read per request), else the body's field. */
export function energyClaim(header: string | string[] | undefined, bodyValue: unknown): EnergyClaim | null {
  if (header !== undefined) return { source: "x-energy-joules header", value: header };
  return bodyValue === undefined || bodyValue === null ? null : { source: "usage.energy_joules", value: bodyValue };
}

/** A decimal number as a provider writes it: digits, an optional fraction and exponent; no hex, no words (NaN, Infinity). */
const DECIMAL = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * The joules to record for a claim on a request billed for `tokens` (input + cached + output),
 * or why it is ignored. Negative and non-finite values, text that is not a decimal, and more
 * than MAX_JOULES_PER_TOKEN per token (at least one token) are refused.
 */
export function checkEnergy(claim: EnergyClaim, tokens: number): { joules: number } | { problem: string } {
  const v = claim.value;
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && claim.source === "x-energy-joules header") {
    if (!DECIMAL.test(v)) return { problem: `${claim.source}: ${JSON.stringify(v.slice(0, 32))} is not a decimal number of joules` };
    n = Number(v);
  } else return { problem: `${claim.source}: must be a number of joules (got ${Array.isArray(v) ? "several headers" : typeof v})` };
  if (!Number.isFinite(n)) return { problem: `${claim.source}: ${String(n)} is not a finite number of joules` };
  if (n < 0) return { problem: `${claim.source}: ${n} J is negative` };
  const bound = maxEnergyJoules(tokens);
  if (n > bound) return { problem: `${claim.source}: ${n} J is more than ${MAX_JOULES_PER_TOKEN} J per token (${tokens} tokens billed)` };
  return { joules: n };
}
