import { z } from "zod";

/**
 * The contract between proxies (server/gateway, or a provider's own) and the
 * backend's service-authenticated tRPC procedures for credit control and usage
 * (docs/DESIGN.md "Credit control", "Usage reporting and settlement").
 * Both sides import these schemas; amounts are nano-USD bigint (superjson).
 */

const uuid = z.uuid("must be a UUID");
const tokens = z.number().int("must be an integer").min(0, "must not be negative").max(100_000_000, "is implausibly large");

/** `reservations.reserve`: hold up to `amountNano` of the organisation's credit for a key. */
export const reserveInput = z.object({
  /** Caller-chosen (UUIDv7): a retried reserve with the same id returns the same grant. */
  id: uuid,
  keyId: uuid,
  /** The listing the credit is held for; required from a provider's token (one of its own listings). */
  listingId: uuid.optional(),
  amountNano: z.bigint().min(1n, "must be positive").max(1_000_000_000_000n, "must be at most $1000 per reservation"),
  /** Seconds until the remainder returns to the balance by itself. */
  ttlSeconds: z.number().int().min(5).max(3600),
});
export const reserveOutput = z.object({
  id: z.string(),
  /** May be less than asked (what the balance and the key's period limit allow); 0 means refused. */
  grantedNano: z.bigint(),
  expiresAt: z.date(),
  /** Why less than asked was granted, when it was. */
  limitedBy: z.enum(["credit", "key_limit", "blocked"]).nullable(),
});

/** `reservations.release`: return what is unused of a reservation (all of it when amountNano is absent). */
export const releaseInput = z.object({ id: uuid, amountNano: z.bigint().min(1n).optional() });
export const releaseOutput = z.object({ releasedNano: z.bigint() });

export const usageStatus = z.enum(["ok", "error", "aborted"]);

/**
 * How a response ended, normalised by the proxy from the upstream's `finish_reason`
 * (server/gateway/finish-energy.ts): `error` and `aborted` when it did not end by itself,
 * `unknown` when the upstream said nothing the proxy recognises.
 */
export const finishReasons = ["stop", "length", "tool_calls", "content_filter", "error", "aborted", "unknown"] as const;
export const finishReason = z.enum(finishReasons);
export type FinishReason = z.infer<typeof finishReason>;

/**
 * The most energy one token may be said to take, joules. Real serving takes well under 10 J a
 * token on any hardware; past this bound a reported figure is a unit mix-up or a lie, and is not
 * recorded. Tokens here are input + cached input + output, at least 1 (a failed request with no
 * tokens still drew power). The one home of this rule: the proxy, intake and `energy.report` use it.
 */
export const MAX_JOULES_PER_TOKEN = 100;
export const maxEnergyJoules = (tokens: number) => MAX_JOULES_PER_TOKEN * Math.max(1, tokens);

/** Joules as reported: finite (zod refuses NaN and ±Infinity), not negative. */
const joules = z.number("must be a number of joules").min(0, "must not be negative");

/** One request's usage, reported after it ends. */
const usageEventFields = z.object({
  /** Client-generated UUIDv7 (also the request's generation id): settled exactly once, forever. */
  id: uuid,
  /** The reservation the request spent from (null if served without one, e.g. a late report). */
  reservationId: uuid.nullable(),
  keyId: uuid,
  listingId: uuid,
  /** Uncached prompt tokens. */
  inputTokens: tokens,
  outputTokens: tokens,
  cachedInputTokens: tokens,
  startedAt: z.date(),
  firstTokenAt: z.date().nullable(),
  endedAt: z.date(),
  status: usageStatus,
  /** True when the counts come from our tokenizer because the upstream sent no usage. */
  estimated: z.boolean(),
  /** Upstream HTTP status, when there was one. */
  upstreamStatus: z.number().int().min(100).max(599).nullable(),
  /**
   * Set when the upstream's own usage was not billed as reported (implausible, or dearer than
   * the request's hold): what it claimed. The token fields above are what was billed.
   */
  anomaly: z
    .object({
      reason: z.string().max(300),
      reportedInputTokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      reportedOutputTokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      reportedCachedInputTokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    })
    .nullish(),
  /** How the response ended (absent from proxies older than issue #21). Describes the event; never changes its cost. */
  finishReason: finishReason.nullish(),
  /** The energy the upstream reported the response took, joules (absent when it reported none). Never changes the cost. */
  energyJoules: joules.nullish(),
});

/** The per-token bound on energyJoules needs the token counts: checked on the whole event. */
function energyWithinBound(e: { energyJoules?: number | null; inputTokens: number; outputTokens: number; cachedInputTokens: number }, ctx: z.RefinementCtx) {
  if (e.energyJoules == null) return;
  const bound = maxEnergyJoules(e.inputTokens + e.outputTokens + e.cachedInputTokens);
  if (e.energyJoules > bound)
    ctx.addIssue({ code: "custom", path: ["energyJoules"], message: `must be at most ${MAX_JOULES_PER_TOKEN} J per token (${bound} J here)` });
}

export const usageEvent = usageEventFields.superRefine(energyWithinBound);
export type UsageEvent = z.infer<typeof usageEvent>;

/** An ISO 8601 timestamp with its offset, as JSON carries it. */
const isoDate = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).transform((s) => new Date(s));

/**
 * A usage event as plain JSON carries it to the lean ingest path (`POST …/usage.ingest`):
 * the same fields and rules as usageEvent, timestamps as ISO 8601 strings.
 */
export const usageEventWire = usageEventFields
  .extend({ startedAt: isoDate, firstTokenAt: isoDate.nullable(), endedAt: isoDate })
  .superRefine(energyWithinBound);

/** `usage.report`: a batch of up to 5 000 events; valid ones proceed even when others are rejected. */
export const reportInput = z.object({ events: z.array(z.unknown()).min(1).max(5000, "at most 5000 events per batch") });
export const eventResult = z.object({
  id: z.string(),
  /** settled: billed now; duplicate: billed before (same fields); conflict: same id, different fields (stored for finance, not billed); rejected: invalid. */
  status: z.enum(["settled", "duplicate", "conflict", "rejected"]),
  costNano: z.bigint().nullable(),
  reason: z.string().nullable(),
});
export const reportOutput = z.object({ results: z.array(eventResult) });

/** `usage.generation`: one request's billed record (for `GET /v1/generation?id=`), scoped to the key's organisation. */
export const generationInput = z.object({ id: uuid, keyId: uuid });
export const generationOutput = z
  .object({
    id: z.string(),
    listingSlug: z.string(),
    providerOrg: z.string(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    cachedInputTokens: z.number(),
    costNano: z.bigint(),
    startedAt: z.date(),
    firstTokenAt: z.date().nullable(),
    endedAt: z.date(),
    status: usageStatus,
    estimated: z.boolean(),
    finishReason: finishReason.nullable(),
    /** Joules the upstream reported the response took; null when it reported none. */
    energyJoules: z.number().nullable(),
    /** settled: in the ledger; settling: billed at this cost, waiting for the settler's next window. */
    settlement: z.enum(["settled", "settling"]),
  })
  .nullable();
