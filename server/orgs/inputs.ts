import { z } from "zod";
import { memberRole } from "../../db/schema";
import { emailSchema } from "../auth/users";
import { SLUG_RE } from "./slug";

/** What the console sends to create and run an organisation; messages name the field as the form shows it. */

export const orgNameSchema = z.string().trim().min(2, "must be at least 2 characters").max(80, "must be at most 80 characters");
export const createOrgInput = z.object({
  name: orgNameSchema,
  slug: z.string().trim().regex(SLUG_RE, "must be 1–40 lower-case letters, digits or dashes").optional(),
});
export const switchOrgInput = z.object({ orgId: z.uuid("is not a valid organisation id") });
export const renameOrgInput = z.object({ name: orgNameSchema });
export const inviteInput = z.object({ email: emailSchema, role: z.enum(memberRole.enumValues) });
export const inviteIdInput = z.object({ inviteId: z.uuid("is not a valid invite id") });
export const memberInput = z.object({ userId: z.string().min(1, "is required") });
export const setRoleInput = z.object({ userId: z.string().min(1, "is required"), role: z.enum(memberRole.enumValues) });
export const inviteTokenInput = z.object({ token: z.string().min(10, "is not a valid invite token").max(200) });

export type CreateOrgInput = z.infer<typeof createOrgInput>;
export type InviteInput = z.infer<typeof inviteInput>;
