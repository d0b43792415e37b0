import { z } from "zod";
import { keyResolution, resolveKeyInput, revocationVersionInput, revocationVersionOutput } from "../../contract/keys";
import { keyPepper } from "../../env";
import { createKeyInput, keyIdInput, rotateKeyInput, updateKeyInput } from "../../keys/inputs";
import { createKey, listKeys, resolveKey, revocationVersion, revokeKey, rotateKey, updateKey } from "../../keys/service";
import { serviceOrgId } from "../../usage/service-scope";
import { orgProcedure, router, serviceProcedure } from "../trpc";

const createdKey = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), last4: z.string(), secret: z.string() });

export const keysRouter = router({
  /** Any member, finance included, may see the keys and their spend; never hashes or secrets. */
  list: orgProcedure().query(({ ctx }) => listKeys(ctx.db, { orgId: ctx.org.id })),

  /** Returns the secret once; only its HMAC is stored. */
  create: orgProcedure("keys.manage")
    .input(createKeyInput)
    .output(createdKey)
    .mutation(({ ctx, input }) => createKey(ctx.db, { ...input, pepper: keyPepper(), orgId: ctx.org.id, userId: ctx.user.id })),

  update: orgProcedure("keys.manage")
    .input(updateKeyInput)
    .mutation(({ ctx, input }) => updateKey(ctx.db, { ...input, orgId: ctx.org.id, actor: { userId: ctx.user.id, role: ctx.org.role } })),

  revoke: orgProcedure("keys.manage")
    .input(keyIdInput)
    .mutation(({ ctx, input }) => revokeKey(ctx.db, { orgId: ctx.org.id, keyId: input.keyId, actorUserId: ctx.user.id })),

  rotate: orgProcedure("keys.manage")
    .input(rotateKeyInput)
    .output(createdKey.extend({ oldKeyRevokesAt: z.date() }))
    .mutation(({ ctx, input }) => rotateKey(ctx.db, { ...input, pepper: keyPepper(), orgId: ctx.org.id, userId: ctx.user.id })),

  /**
   * For proxies. They send the secret the client presented, over the
   * service-authenticated channel, and the backend hashes it: the pepper then
   * never leaves the backend, so a compromised (or provider-run) proxy cannot
   * help anyone verify guesses against a leaked database. The secret is never
   * logged (tRPC logs only internal errors, without input). A mutation, so
   * the secret travels in a POST body and never in a URL or an access log.
   */
  resolve: serviceProcedure
    .input(resolveKeyInput)
    .output(keyResolution)
    .mutation(({ ctx, input }) => resolveKey(ctx.db, { pepper: keyPepper(), secret: input.secret })),

  /**
   * One primary-key read; proxies poll it every second or so and re-resolve cached keys when it moves.
   * At most MAX_CHANGED_KEY_IDS ids (null past that: re-resolve all); a provider's token sees only keys it reserved for.
   */
  revocationVersion: serviceProcedure
    .input(revocationVersionInput)
    .output(revocationVersionOutput)
    .query(async ({ ctx, input }) => revocationVersion(ctx.db, { since: input?.since, serviceOrgId: await serviceOrgId(ctx.db, { service: ctx.service }) })),
});
