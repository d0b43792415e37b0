import { z } from "zod";

/**
 * `energy.report`: a provider's hourly meter reading for one of its listings (README "Measured
 * energy"). Physical figures, not money. Idempotent per (listing, hour): the same figures sent
 * again answer the stored reading and change nothing; different figures are refused (CONFLICT,
 * naming the fields) and the first reading stands, as TigerBeetle answers a transfer that
 * exists with different fields.
 */

/** The most one reading may say, joules: a gigawatt for the whole hour. More is a unit mix-up. */
export const MAX_READING_JOULES = 3.6e12;

export const energyReportInput = z.object({
  listingId: z.uuid("must be a UUID"),
  /** The start of the UTC hour the reading covers. */
  hour: z.date("must be a date").refine((d) => d.getTime() % 3_600_000 === 0, "must be the start of a UTC hour (minutes, seconds and milliseconds zero)"),
  /** Finite (zod refuses NaN and ±Infinity) and not negative. */
  joules: z
    .number("must be a number of joules")
    .min(0, "must not be negative")
    .max(MAX_READING_JOULES, `must be at most ${MAX_READING_JOULES} J (a gigawatt for an hour)`),
  tokensServed: z
    .number("must be a number of tokens")
    .int("must be an integer")
    .min(0, "must not be negative")
    .max(Number.MAX_SAFE_INTEGER, "is implausibly large"),
});

/** The reading as stored: a resend with the same figures answers exactly this again. */
export const energyReportOutput = z.object({
  listingId: z.string(),
  hour: z.date(),
  joules: z.number(),
  tokensServed: z.number(),
  reportedAt: z.date(),
});
