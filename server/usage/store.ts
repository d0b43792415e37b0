import { sql } from "drizzle-orm";
import type { Db, Tx } from "../../db/client";
import type { LedgerAccountKind } from "../../db/schema/ledger";
import { ensureAccount, findAccounts } from "../ledger/accounts";
import { pgArray } from "../lib/pg-array";

/**
 * Lookups settlement makes for every batch, cached per database handle: which
 * organisation a key and a listing belong to never changes, ledger accounts are never
 * deleted, and partitions are never dropped while they hold usage, so a cached answer
 * stays true. Unknown ids are not cached (a key created a moment ago must resolve).
 */

export type KeyInfo = { orgId: string; lineageId: string };
export type ListingInfo = { providerOrgId: string; providerSlug: string };

type Cache = { keys: Map<string, KeyInfo>; listings: Map<string, ListingInfo>; accounts: Map<string, string>; months: Set<string> };

const caches = new WeakMap<Db, Cache>();
/** Bounds memory: a full map is simply dropped and refilled from the database. */
const MAX_ENTRIES = 200_000;

function cacheOf(db: Db): Cache {
  let c = caches.get(db);
  if (!c) {
    c = { keys: new Map(), listings: new Map(), accounts: new Map(), months: new Set() };
    caches.set(db, c);
  }
  return c;
}

function remember<V>(map: Map<string, V>, key: string, value: V) {
  if (map.size >= MAX_ENTRIES) map.clear();
  map.set(key, value);
}

/** Organisation and lineage of each known key (ids lower-case). */
export async function lookupKeys(db: Db, p: { ids: Iterable<string> }): Promise<Map<string, KeyInfo>> {
  const cache = cacheOf(db).keys;
  const out = new Map<string, KeyInfo>();
  const missing: string[] = [];
  for (const id of p.ids) {
    const hit = cache.get(id);
    if (hit) out.set(id, hit);
    else missing.push(id);
  }
  if (missing.length) {
    const { rows } = await db.execute<{ id: string; org_id: string; lineage_id: string }>(
      sql`select id, org_id, lineage_id from api_keys where id = any(${pgArray(missing)}::uuid[])`,
    );
    for (const r of rows) {
      const info = { orgId: r.org_id, lineageId: r.lineage_id };
      remember(cache, r.id, info);
      out.set(r.id, info);
    }
  }
  return out;
}

/** Provider organisation (id and slug) of each known listing (ids lower-case). */
export async function lookupListings(db: Db, p: { ids: Iterable<string> }): Promise<Map<string, ListingInfo>> {
  const cache = cacheOf(db).listings;
  const out = new Map<string, ListingInfo>();
  const missing: string[] = [];
  for (const id of p.ids) {
    const hit = cache.get(id);
    if (hit) out.set(id, hit);
    else missing.push(id);
  }
  if (missing.length) {
    const { rows } = await db.execute<{ id: string; org_id: string; slug: string }>(
      sql`select l.id, l.org_id, o.slug from listings l join organizations o on o.id = l.org_id where l.id = any(${pgArray(missing)}::uuid[])`,
    );
    for (const r of rows) {
      const info = { providerOrgId: r.org_id, providerSlug: r.slug };
      remember(cache, r.id, info);
      out.set(r.id, info);
    }
  }
  return out;
}

export type AccountNeed = { orgId: string | null; kind: LedgerAccountKind };
export type AccountIds = ReadonlyMap<string, string>;
const accountKey = (a: AccountNeed) => `${a.orgId ?? "platform"}:${a.kind}`;

/**
 * The ledger account id of each (organisation, kind), created on first use. Outside a
 * transaction (`via` absent), creating accounts never holds a caller's locks. Inside one
 * (`via`), an account created there is not remembered: the transaction may still roll back.
 */
export async function accountIds(db: Db, p: { needs: readonly AccountNeed[]; via?: Tx }): Promise<AccountIds> {
  const { needs, via } = p;
  const cache = cacheOf(db).accounts;
  const ids = new Map<string, string>();
  const missing: AccountNeed[] = [];
  for (const need of needs) {
    const id = cache.get(accountKey(need));
    if (id) ids.set(accountKey(need), id);
    else missing.push(need);
  }
  if (!missing.length) return ids;
  // Accounts that exist (committed) are found in one statement and remembered.
  for (const [key, id] of await findAccounts(via ?? db, { needs: missing })) {
    remember(cache, key, id);
    ids.set(key, id);
  }
  for (const need of missing) {
    const key = accountKey(need);
    if (ids.has(key)) continue;
    const id = (await ensureAccount(via ?? db, need)).id;
    if (!via) remember(cache, key, id);
    ids.set(key, id);
  }
  return ids;
}

/** The id of a prepared account (see accountIds). */
export function accountOf(ids: AccountIds, need: AccountNeed): string {
  const id = ids.get(accountKey(need));
  if (!id) throw new Error(`ledger account ${accountKey(need)} was not prepared`);
  return id;
}

/** `YYYY-MM` of a date in UTC: the usage_events partition it belongs to. */
export const utcMonth = (d: Date) => d.toISOString().slice(0, 7);

/** Makes sure usage_events has partitions for every month between the two dates. */
export async function ensurePartitions(db: Db, p: { from: Date; to: Date }): Promise<void> {
  const { from, to } = p;
  const known = cacheOf(db).months;
  const needed: string[] = [];
  for (let m = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)); m <= to; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) {
    needed.push(utcMonth(m));
  }
  if (needed.every((m) => known.has(m))) return;
  await db.execute(sql`select tm_usage_ensure_partitions(${from.toISOString()}::timestamptz, ${to.toISOString()}::timestamptz)`);
  for (const m of needed) known.add(m);
}

/** Timestamps from raw queries come back as PostgreSQL text ("2026-05-01 15:35:52.123+00"). */
export { parseTimestamp as asDate } from "../lib/timestamps";

/** Runs `fn` again when PostgreSQL aborted it for a deadlock or a serialization failure. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * i));
    }
  }
}

function isRetryable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (code === "40P01" || code === "40001") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
