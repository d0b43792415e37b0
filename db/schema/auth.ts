import { sql } from "drizzle-orm";
import { boolean, index, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";

// Tables the Auth.js Drizzle adapter reads and writes (users, accounts,
// sessions, verification tokens), plus our password hash and sign-in log.

export const users = pgTable("users", {
  id: text().primaryKey().$defaultFn(uuidv7),
  name: text(),
  email: text().notNull().unique(),
  emailVerified: timestamp({ mode: "date", withTimezone: true }),
  image: text(),
  /** argon2id PHC string; null for OAuth-only users. */
  passwordHash: text(),
  /** The organisation the console shows; a membership is re-checked on every request. */
  activeOrgId: uuid(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

export const accounts = pgTable(
  "accounts",
  {
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text().notNull(),
    provider: text().notNull(),
    providerAccountId: text().notNull(),
    refresh_token: text(),
    access_token: text(),
    expires_at: integer(),
    token_type: text(),
    scope: text(),
    id_token: text(),
    session_state: text(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.providerAccountId] })],
);

export const sessions = pgTable("sessions", {
  sessionToken: text().primaryKey(),
  userId: text()
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  expires: timestamp({ mode: "date", withTimezone: true }).notNull(),
});

export const verificationTokens = pgTable(
  "verification_tokens",
  {
    identifier: text().notNull(),
    token: text().notNull(),
    expires: timestamp({ mode: "date", withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.identifier, t.token] })],
);

/** One row per password sign-in attempt; the rate limiter counts recent failures. */
export const signInAttempts = pgTable(
  "sign_in_attempts",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    email: text().notNull(),
    ip: text().notNull(),
    succeeded: boolean().notNull(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Serves "failures for this email / IP in the last window".
    index().on(t.email, t.at).where(sql`not ${t.succeeded}`),
    index().on(t.ip, t.at).where(sql`not ${t.succeeded}`),
  ],
);

/** One row per sign-up attempt, recorded before the password is hashed; the sign-up limiter counts them. */
export const signUpAttempts = pgTable(
  "sign_up_attempts",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    /** Null when no trusted proxy vouches for the client's address (TRUSTED_PROXY_HOPS=0). */
    ip: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Serve "sign-ups from this IP in the last window" and "all sign-ups in the last window".
    index().on(t.ip, t.at),
    index().on(t.at),
  ],
);
