import { z } from "zod";
import { signUp, signUpInput } from "../../auth/users";
import { signUpLimits } from "../../env";
import { listMemberships, resolveActiveOrg } from "../../orgs/service";
import { authedProcedure, publicProcedure, router } from "../trpc";

export const accountRouter = router({
  signUp: publicProcedure
    .input(signUpInput)
    .output(z.object({ id: z.string(), email: z.string() }))
    .mutation(({ ctx, input }) => signUp(ctx.db, { ...input, ip: ctx.clientIp ?? null, limits: signUpLimits() })),

  /** The signed-in user, their organisations and the active one. */
  me: authedProcedure.query(async ({ ctx }) => ({
    user: ctx.user,
    organizations: await listMemberships(ctx.db, { userId: ctx.user.id }),
    activeOrg: await resolveActiveOrg(ctx.db, { userId: ctx.user.id }),
  })),
});
