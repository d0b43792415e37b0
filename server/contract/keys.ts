import { z } from "zod";

/** `keys.resolve` and `keys.revocationVersion`: how a proxy learns what an API key may do (see ./catalog.ts). */

/** The spend-limit periods of a key (db/schema/keys.ts key_limit_period; keys.test.ts keeps them equal). */
export const KEY_LIMIT_PERIODS = ["daily", "weekly", "monthly", "lifetime"] as const;

export const resolveKeyInput = z.object({ secret: z.string().max(200, "is too long") });

export const keyResolution = z.discriminatedUnion("status", [
  z.object({ status: z.literal("unknown") }),
  z.object({ status: z.enum(["revoked", "expired"]), keyId: z.uuid(), orgId: z.uuid() }),
  z.object({
    status: z.literal("active"),
    keyId: z.uuid(),
    orgId: z.uuid(),
    validUntil: z.date().nullable(),
    spendLimitNano: z.bigint().nullable(),
    limitPeriod: z.enum(KEY_LIMIT_PERIODS).nullable(),
    periodStart: z.date().nullable(),
    periodEnd: z.date().nullable(),
    currentPeriodSpendNano: z.bigint(),
    modelAllowlist: z.array(z.string()),
    rpmLimit: z.number().int().nullable(),
    tpmLimit: z.number().int().nullable(),
  }),
]);

export const revocationVersionInput = z.object({ since: z.number().int().min(0, "must be 0 or more").optional() }).optional();
export const revocationVersionOutput = z.object({ version: z.number().int(), changedKeyIds: z.array(z.uuid()).nullable() });

export type KeyResolution = z.infer<typeof keyResolution>;
export type ActiveKey = Extract<KeyResolution, { status: "active" }>;
