import { sql } from "drizzle-orm";
import { boolean, index, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";
import { users } from "./auth";

export const memberRole = pgEnum("member_role", ["owner", "developer", "finance"]);
export type MemberRole = (typeof memberRole.enumValues)[number];

export const organizations = pgTable(
  "organizations",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    name: text().notNull(),
    /** URL-safe, unique; listing slugs are `org-slug/model-slug`. */
    slug: text().notNull().unique(),
    /** The platform organisation: its finance members read the whole platform's books. */
    isPlatform: boolean().notNull().default(false),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  // At most one platform organisation.
  (t) => [uniqueIndex("organizations_one_platform").on(t.isPlatform).where(sql`${t.isPlatform}`)],
);

export const memberships = pgTable(
  "memberships",
  {
    orgId: uuid()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: memberRole().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index().on(t.userId)],
);

export const invites = pgTable(
  "invites",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text().notNull(),
    role: memberRole().notNull(),
    /** SHA-256 of the invite token; the token itself is only in the link shown once. */
    tokenHash: text().notNull().unique(),
    invitedBy: text()
      .notNull()
      .references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    acceptedAt: timestamp({ withTimezone: true }),
    acceptedBy: text().references(() => users.id),
    revokedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.orgId)],
);
