import { sql } from "drizzle-orm";
import { bigint, check, date, index, integer, pgEnum, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";
import { users } from "./auth";
import { organizations } from "./orgs";

/** How a key's spend limit resets: UTC calendar day / ISO week (Monday) / month, or never. */
export const keyLimitPeriod = pgEnum("key_limit_period", ["daily", "weekly", "monthly", "lifetime"]);
export type KeyLimitPeriod = (typeof keyLimitPeriod.enumValues)[number];

/**
 * API keys. The secret (`tm_` + base62) is shown once and never stored: only its
 * HMAC-SHA256 under the server-side pepper (KEY_PEPPER), so a database leak
 * alone does not yield usable keys nor allow offline guessing.
 *
 * There is no stored status column on purpose: a key's status is a function of
 * time (expiry, a revocation scheduled at the end of a rotation's grace period),
 * so it is derived from `revoked_at` and `expires_at` (server/keys/status.ts).
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /**
     * The key's rotation family: its own id at creation, inherited by every
     * rotation. The spend limit applies to the lineage, so rotating a key does
     * not reset its budget.
     */
    lineageId: uuid().notNull(),
    name: text().notNull(),
    /** `tm_` + the first 8 characters of the random part, for display. */
    prefix: text().notNull(),
    last4: text().notNull(),
    /** Hex HMAC-SHA256(secret) under KEY_PEPPER. Keys resolve by it. */
    hash: text().notNull(),
    createdBy: text().references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp({ withTimezone: true }),
    expiresAt: timestamp({ withTimezone: true }),
    /** When the key stops working: now for a revoke, the end of the grace period for a rotated key. */
    revokedAt: timestamp({ withTimezone: true }),
    /** Null: no spend limit. Enforced by the proxy through reservations. */
    spendLimitNano: bigint({ mode: "bigint" }),
    limitPeriod: keyLimitPeriod(),
    /** Listing slugs (`org/model`) or families this key may call; empty: any model. */
    modelAllowlist: text().array().notNull().default(sql`'{}'::text[]`),
    rpmLimit: integer(),
    tpmLimit: integer(),
    /** The key this one replaced by rotation. */
    rotatedFromId: uuid(),
    /** The key_state version at this row's last change, so proxies can ask what changed since a version. */
    changedVersion: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [
    uniqueIndex().on(t.hash),
    index().on(t.orgId, t.createdAt),
    index().on(t.lineageId),
    // Serves "keys changed since version V" (proxy cache eviction).
    index().on(t.changedVersion),
    check("api_keys_spend_limit_positive", sql`${t.spendLimitNano} is null or ${t.spendLimitNano} > 0`),
    check("api_keys_limit_has_period", sql`(${t.spendLimitNano} is null) = (${t.limitPeriod} is null)`),
    check("api_keys_rpm_positive", sql`${t.rpmLimit} is null or ${t.rpmLimit} > 0`),
    check("api_keys_tpm_positive", sql`${t.tpmLimit} is null or ${t.tpmLimit} > 0`),
  ],
);

/**
 * Settled spend per key per UTC day, maintained by settlement. Any period's
 * spend is the sum of its days (a month is at most 31 rows), so changing a
 * key's limit period takes effect at once with the right figure. Settlement
 * adds to it with `insert … on conflict (key_id, day) do update set
 * spend_nano = key_spend_daily.spend_nano + excluded.spend_nano`, keyed by the
 * UTC day of the usage event (utcDay in server/keys/period.ts).
 */
export const keySpendDaily = pgTable(
  "key_spend_daily",
  {
    orgId: uuid()
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    keyId: uuid()
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    /** The UTC calendar day the usage happened on. */
    day: date({ mode: "string" }).notNull(),
    spendNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.day] }), check("key_spend_daily_non_negative", sql`${t.spendNano} >= 0`)],
);

/**
 * A single row whose `version` increases in the same transaction as every
 * creation, revoke, rotation or edit of any key (creation too, so a proxy's
 * cached "unknown" answers are refreshed). Proxies poll it (one primary-key read)
 * to learn within seconds that cached key resolutions are stale. The row lock
 * also orders writers, so versions become visible in commit order.
 */
export const keyState = pgTable(
  "key_state",
  {
    id: smallint().primaryKey().default(1),
    version: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  },
  (t) => [check("key_state_single_row", sql`${t.id} = 1`)],
);
