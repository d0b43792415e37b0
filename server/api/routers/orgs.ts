import { z } from "zod";
import { memberRole } from "../../../db/schema";
import {
  acceptInvite,
  createOrg,
  createOrgInput,
  describeInvite,
  inviteInput,
  inviteMember,
  listMembers,
  listPendingInvites,
  orgNameSchema,
  removeMember,
  renameOrg,
  revokeInvite,
  setMemberRole,
  switchOrg,
} from "../../orgs/service";
import { authedProcedure, orgProcedure, router } from "../trpc";

const token = z.object({ token: z.string().min(10, "is not a valid invite token").max(200) });

export const orgsRouter = router({
  create: authedProcedure.input(createOrgInput).mutation(({ ctx, input }) => createOrg(ctx.db, ctx.user.id, input)),

  switch: authedProcedure
    .input(z.object({ orgId: z.uuid("is not a valid organisation id") }))
    .mutation(({ ctx, input }) => switchOrg(ctx.db, ctx.user.id, input.orgId)),

  current: orgProcedure().query(({ ctx }) => ctx.org),

  rename: orgProcedure("org.manage")
    .input(z.object({ name: orgNameSchema }))
    .mutation(({ ctx, input }) => renameOrg(ctx.db, ctx.org.id, input.name)),

  members: orgProcedure().query(({ ctx }) => listMembers(ctx.db, ctx.org.id)),

  invites: orgProcedure("org.manage").query(({ ctx }) => listPendingInvites(ctx.db, ctx.org.id)),

  invite: orgProcedure("org.manage")
    .input(inviteInput)
    .mutation(({ ctx, input }) => inviteMember(ctx.db, ctx.org.id, ctx.user.id, input)),

  revokeInvite: orgProcedure("org.manage")
    .input(z.object({ inviteId: z.uuid("is not a valid invite id") }))
    .mutation(({ ctx, input }) => revokeInvite(ctx.db, ctx.org.id, input.inviteId)),

  removeMember: orgProcedure("org.manage")
    .input(z.object({ userId: z.string().min(1, "is required") }))
    .mutation(({ ctx, input }) => removeMember(ctx.db, ctx.org.id, input.userId, ctx.user.id)),

  setRole: orgProcedure("org.manage")
    .input(z.object({ userId: z.string().min(1, "is required"), role: z.enum(memberRole.enumValues) }))
    .mutation(({ ctx, input }) => setMemberRole(ctx.db, ctx.org.id, input.userId, input.role, ctx.user.id)),

  invitation: authedProcedure.input(token).query(({ ctx, input }) => describeInvite(ctx.db, input.token)),

  acceptInvite: authedProcedure.input(token).mutation(({ ctx, input }) => acceptInvite(ctx.db, ctx.user, input.token)),
});
