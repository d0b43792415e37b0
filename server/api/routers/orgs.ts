import { createOrgInput, inviteIdInput, inviteInput, inviteTokenInput, memberInput, renameOrgInput, setRoleInput, switchOrgInput } from "../../orgs/inputs";
import {
  acceptInvite,
  createOrg,
  describeInvite,
  inviteMember,
  listMembers,
  listPendingInvites,
  removeMember,
  renameOrg,
  revokeInvite,
  setMemberRole,
  switchOrg,
} from "../../orgs/service";
import { authedProcedure, orgProcedure, router } from "../trpc";

export const orgsRouter = router({
  create: authedProcedure.input(createOrgInput).mutation(({ ctx, input }) => createOrg(ctx.db, { ...input, userId: ctx.user.id })),

  switch: authedProcedure.input(switchOrgInput).mutation(({ ctx, input }) => switchOrg(ctx.db, { userId: ctx.user.id, orgId: input.orgId })),

  current: orgProcedure().query(({ ctx }) => ctx.org),

  rename: orgProcedure("org.manage")
    .input(renameOrgInput)
    .mutation(({ ctx, input }) => renameOrg(ctx.db, { orgId: ctx.org.id, name: input.name })),

  members: orgProcedure().query(({ ctx }) => listMembers(ctx.db, { orgId: ctx.org.id })),

  invites: orgProcedure("org.manage").query(({ ctx }) => listPendingInvites(ctx.db, { orgId: ctx.org.id })),

  invite: orgProcedure("org.manage")
    .input(inviteInput)
    .mutation(({ ctx, input }) => inviteMember(ctx.db, { ...input, orgId: ctx.org.id, invitedBy: ctx.user.id })),

  revokeInvite: orgProcedure("org.manage")
    .input(inviteIdInput)
    .mutation(({ ctx, input }) => revokeInvite(ctx.db, { orgId: ctx.org.id, inviteId: input.inviteId })),

  removeMember: orgProcedure("org.manage")
    .input(memberInput)
    .mutation(({ ctx, input }) => removeMember(ctx.db, { orgId: ctx.org.id, userId: input.userId, actorUserId: ctx.user.id })),

  setRole: orgProcedure("org.manage")
    .input(setRoleInput)
    .mutation(({ ctx, input }) => setMemberRole(ctx.db, { orgId: ctx.org.id, userId: input.userId, role: input.role, actorUserId: ctx.user.id })),

  invitation: authedProcedure.input(inviteTokenInput).query(({ ctx, input }) => describeInvite(ctx.db, { token: input.token })),

  acceptInvite: authedProcedure.input(inviteTokenInput).mutation(({ ctx, input }) => acceptInvite(ctx.db, { user: ctx.user, token: input.token })),
});
