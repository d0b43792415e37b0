import { z } from "zod";
import { keyLimitPeriod } from "../../db/schema";

/** What the console sends to create, edit, rotate and revoke keys; messages name the field as the form shows it. */

export const keyNameSchema = z.string().trim().min(1, "is required").max(80, "must be at most 80 characters");

// Shapes only; ranges and meaning are checked by validateLimits so they are table-tested in one place.
const limitFields = {
  spendLimitUsd: z.string().max(40, "is too long").nullable().optional(),
  limitPeriod: z.enum(keyLimitPeriod.enumValues, { message: "must be daily, weekly, monthly or lifetime" }).nullable().optional(),
  modelAllowlist: z.array(z.string().max(200, "entries must be at most 200 characters")).max(1000, "is too long").optional(),
  rpmLimit: z.number({ message: "must be a number" }).nullable().optional(),
  tpmLimit: z.number({ message: "must be a number" }).nullable().optional(),
  expiresAt: z.date({ message: "must be a date" }).nullable().optional(),
};
const keyId = z.uuid("is not a valid key id");

export const createKeyInput = z.object({ name: keyNameSchema, ...limitFields });
export const updateKeyInput = z.object({ keyId, name: keyNameSchema.optional(), ...limitFields });
export const rotateKeyInput = z.object({ keyId, graceSeconds: z.number({ message: "must be a number" }).default(0) });
export const keyIdInput = z.object({ keyId });

export type CreateKeyInput = z.infer<typeof createKeyInput>;
export type UpdateKeyInput = z.infer<typeof updateKeyInput>;
export type RotateKeyInput = z.infer<typeof rotateKeyInput>;
