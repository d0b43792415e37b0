import type { MemberRole } from "../../db/schema/orgs";

/**
 * Who may do what, as data. tRPC procedures (server/api/trpc.ts), the CSV routes
 * (server/orgs/access.ts) and pages (to choose what to render) all read this one table.
 * Pure: no I/O, safe to import from client components.
 *
 * "platform-finance" is a finance member of the platform organisation: they read the whole
 * platform's books and keep an ordinary finance member's rights in their own organisation.
 */
export type { MemberRole };
export type Role = MemberRole | "platform-finance";

/** The roles a member of an organisation can hold, in the order pages list them. */
export const memberRoles: readonly MemberRole[] = ["owner", "developer", "finance"];

// Listed in the order of `memberRoles`, which is the order "This needs the … role" names them in.
const grants = {
  /** Rename the organisation, invite and remove members, change their roles. */
  "org.manage": ["owner"],
  /** Create API keys, change their limits, revoke and rotate them. */
  "keys.manage": ["owner", "developer"],
  /** Raise or remove a key's limit (anyone who manages keys may lower one): what a leaked key may cost. */
  "keys.raiseLimits": ["owner"],
  /** Draft and edit listings, test their upstream connection. */
  "listings.manage": ["owner", "developer"],
  /**
   * Publish and pause listings, change and cancel their prices, and change a published
   * listing's upstream or credential: what moves traffic and money.
   */
  "listings.publish": ["owner"],
  /** Top up credits (checkout, local payment, cancel) and set the low-balance alert. */
  "credits.topUp": ["owner", "finance", "platform-finance"],
  /** The organisation's own statements, monthly figures, usage, audit log and CSV exports. */
  "finance.read": ["owner", "finance", "platform-finance"],
  /** A provider's earnings, payouts, payout statements and Stripe Connect status. */
  "payouts.read": ["owner", "finance", "platform-finance"],
  /** Connect the organisation's Stripe account to be paid out. */
  "payouts.connect": ["owner"],
  /** The whole platform's books: trial balance, journal, accounts, reconciliation, audit. */
  "books.read": ["platform-finance"],
  /** Close a month and review posting conflicts. */
  "books.close": ["platform-finance"],
  /** Record manual payouts and run Stripe Connect payouts to providers. */
  "payouts.run": ["platform-finance"],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof grants;

export const actions = Object.keys(grants) as Action[];

/** True when a member with this role may take this action. */
export function can(role: Role, action: Action): boolean {
  return (grants[action] as readonly Role[]).includes(role);
}

/** The role the table knows a member by: finance members of the platform organisation are "platform-finance". */
export function roleOf(member: { role: MemberRole; isPlatform: boolean }): Role {
  return member.isPlatform && member.role === "finance" ? "platform-finance" : member.role;
}

/** The ordinary organisation roles an action is granted to (none for the platform's own actions). */
export function memberRolesFor(action: Action): MemberRole[] {
  return memberRoles.filter((r) => can(r, action));
}
