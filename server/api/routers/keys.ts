import { z } from "zod";
import { keyLimitPeriod } from "../../../db/schema";
import { keyPepper } from "../../env";
import {
  createKey,
  createKeyInput,
  keyIdInput,
  listKeys,
  resolveKey,
  revocationVersion,
  revokeKey,
  rotateKey,
  rotateKeyInput,
  updateKey,
  updateKeyInput,
} from "../../keys/service";
import { serviceOrgId } from "../../usage/service-scope";
import { orgProcedure, router, serviceProcedure } from "../trpc";

const createdKey = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), last4: z.string(), secret: z.string() });

const resolution = z.discriminatedUnion("status", [
  z.object({ status: z.literal("unknown") }),
  z.object({ status: z.enum(["revoked", "expired"]), keyId: z.uuid(), orgId: z.uuid() }),
  z.object({
    status: z.literal("active"),
    keyId: z.uuid(),
    orgId: z.uuid(),
    validUntil: z.date().nullable(),
    spendLimitNano: z.bigint().nullable(),
    limitPeriod: z.enum(keyLimitPeriod.enumValues).nullable(),
    periodStart: z.date().nullable(),
    periodEnd: z.date().nullable(),
    currentPeriodSpendNano: z.bigint(),
    modelAllowlist: z.array(z.string()),
    rpmLimit: z.number().int().nullable(),
    tpmLimit: z.number().int().nullable(),
  }),
]);

export const keysRouter = router({
  /** Any member, finance included, may see the keys and their spend; never hashes or secrets. */
  list: orgProcedure().query(({ ctx }) => listKeys(ctx.db, ctx.org.id)),

  /** Returns the secret once; only its HMAC is stored. */
  create: orgProcedure("owner", "developer")
    .input(createKeyInput)
    .output(createdKey)
    .mutation(({ ctx, input }) => createKey(ctx.db, keyPepper(), ctx.org.id, ctx.user.id, input)),

  update: orgProcedure("owner", "developer")
    .input(updateKeyInput)
    .mutation(({ ctx, input }) => updateKey(ctx.db, ctx.org.id, input, new Date(), { userId: ctx.user.id, role: ctx.org.role })),

  revoke: orgProcedure("owner", "developer")
    .input(keyIdInput)
    .mutation(({ ctx, input }) => revokeKey(ctx.db, ctx.org.id, input.keyId, new Date(), ctx.user.id)),

  rotate: orgProcedure("owner", "developer")
    .input(rotateKeyInput)
    .output(createdKey.extend({ oldKeyRevokesAt: z.date() }))
    .mutation(({ ctx, input }) => rotateKey(ctx.db, keyPepper(), ctx.org.id, ctx.user.id, input)),

  /**
   * For proxies. They send the secret the client presented, over the
   * service-authenticated channel, and the backend hashes it: the pepper then
   * never leaves the backend, so a compromised (or provider-run) proxy cannot
   * help anyone verify guesses against a leaked database. The secret is never
   * logged (tRPC logs only internal errors, without input). A mutation, so
   * the secret travels in a POST body and never in a URL or an access log.
   */
  resolve: serviceProcedure
    .input(z.object({ secret: z.string().max(200, "is too long") }))
    .output(resolution)
    .mutation(({ ctx, input }) => resolveKey(ctx.db, keyPepper(), input.secret)),

  /**
   * One primary-key read; proxies poll it every second or so and re-resolve cached keys when it moves.
   * At most MAX_CHANGED_KEY_IDS ids (null past that: re-resolve all); a provider's token sees only keys it reserved for.
   */
  revocationVersion: serviceProcedure
    .input(z.object({ since: z.number().int().min(0, "must be 0 or more").optional() }).optional())
    .output(z.object({ version: z.number().int(), changedKeyIds: z.array(z.uuid()).nullable() }))
    .query(async ({ ctx, input }) => revocationVersion(ctx.db, input?.since, await serviceOrgId(ctx.db, { service: ctx.service }))),
});
