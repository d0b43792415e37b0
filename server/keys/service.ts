import { and, desc, eq, gt, inArray, isNull, ne, or, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client";
import { apiKeys, keyLimitPeriod, keyState, listings, users, type KeyLimitPeriod, type MemberRole } from "../../db/schema";
import { can } from "../auth/permissions";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import { broadcastKeysChanged } from "../fleet/broadcast";
import { uuidv7 } from "../lib/ids";
import { liftedLimit, validateGraceSeconds, validateLimits, type Limits } from "./limits";
import { periodEnd, periodStart, utcDay } from "./period";
import type { CreateKeyInput, RotateKeyInput, UpdateKeyInput } from "./inputs";
import { displayParts, generateSecret, hashSecret, isWellFormedSecret } from "./secret";
import { keyStatus, validUntil, type KeyStatus } from "./status";

/** Period used to show spend for keys without a limit. */
const DISPLAY_PERIOD: KeyLimitPeriod = "monthly";

/** Refuses allowlist entries that name no listing: slugs must be a listing's slug, other entries a family. */
async function checkAllowlist(db: DbOrTx, entries: string[]): Promise<void> {
  if (!entries.length) return;
  // Drafts are private to their provider: they neither validate nor leak through this check.
  const found = await db
    .select({ slug: listings.slug, family: listings.family })
    .from(listings)
    .where(and(ne(listings.status, "draft"), or(inArray(listings.slug, entries), inArray(listings.family, entries))));
  const slugs = new Set(found.map((f) => f.slug));
  const families = new Set(found.map((f) => f.family));
  for (const e of entries) {
    const known = e.includes("/") ? slugs.has(e) : families.has(e);
    if (!known) {
      throw new DomainError("INVALID_INPUT", `modelAllowlist: "${e}" is not a listed model (org/model) or model family`, "modelAllowlist");
    }
  }
}

/** Bumps the revocation version in the caller's transaction; returns the new version. */
async function bumpVersion(tx: DbOrTx): Promise<bigint> {
  const [row] = await tx
    .insert(keyState)
    .values({ id: 1, version: 1n })
    .onConflictDoUpdate({ target: keyState.id, set: { version: sql`${keyState.version} + 1` } })
    .returning({ version: keyState.version });
  return row!.version;
}

/** Limits as columns: absent fields stay as they are. */
function limitColumns(l: Limits) {
  return {
    ...(l.spendLimitNano !== undefined && { spendLimitNano: l.spendLimitNano, limitPeriod: l.limitPeriod ?? null }),
    ...(l.modelAllowlist !== undefined && { modelAllowlist: l.modelAllowlist }),
    ...(l.rpmLimit !== undefined && { rpmLimit: l.rpmLimit }),
    ...(l.tpmLimit !== undefined && { tpmLimit: l.tpmLimit }),
    ...(l.expiresAt !== undefined && { expiresAt: l.expiresAt }),
  };
}

/** The new key's public parts plus its secret, which is returned here once and stored nowhere. */
export type CreatedKey = { id: string; name: string; prefix: string; last4: string; secret: string };

/** Creates a key for the organisation; validates every limit first and writes nothing when one is bad. */
export async function createKey(
  db: Db,
  p: CreateKeyInput & { pepper: string; orgId: string; userId: string | null; now?: Date; secretBytes?: Uint8Array },
): Promise<CreatedKey> {
  const { pepper, orgId, userId, now = new Date(), secretBytes, ...input } = p;
  const limits = validateLimits(input, now);
  await checkAllowlist(db, limits.modelAllowlist ?? []);
  const secret = generateSecret(secretBytes);
  const id = uuidv7(now.getTime());
  return db.transaction(async (tx) => {
    const version = await bumpVersion(tx);
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id,
        orgId,
        lineageId: id,
        name: input.name,
        ...displayParts(secret),
        hash: hashSecret(secret, pepper),
        createdBy: userId,
        createdAt: now,
        ...limitColumns(limits),
        changedVersion: version,
      })
      .returning({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, last4: apiKeys.last4 });
    await recordAudit(tx, { actorUserId: userId, orgId, action: "key.create", subject: { kind: "api_key", id }, after: { ...row, ...limits } });
    return { ...row!, secret };
  });
}

/** Settled spend of each lineage since its start day (UTC), summed over the lineage's keys. */
async function lineageSpend(db: DbOrTx, starts: { lineageId: string; start: Date }[]): Promise<Map<string, bigint>> {
  const spend = new Map<string, bigint>();
  if (!starts.length) return spend;
  const result = await db.execute<{ lineage_id: string; spend_nano: bigint }>(sql`
    select st.lineage_id, coalesce(sum(s.spend_nano), 0)::bigint as spend_nano
    from unnest(${sql.param(starts.map((s) => s.lineageId))}::uuid[], ${sql.param(starts.map((s) => utcDay(s.start)))}::date[]) as st(lineage_id, start_day)
    join api_keys k on k.lineage_id = st.lineage_id
    join key_spend_daily s on s.key_id = k.id and s.day >= st.start_day
    group by st.lineage_id`);
  for (const r of result.rows) spend.set(r.lineage_id, BigInt(r.spend_nano));
  return spend;
}

/** Spend of a key's lineage in its current limit period (or this month when it has no limit), nano-USD. */
export async function currentPeriodSpend(db: DbOrTx, key: { lineageId: string; limitPeriod: KeyLimitPeriod | null; now?: Date }) {
  const now = key.now ?? new Date();
  const start = periodStart(key.limitPeriod ?? DISPLAY_PERIOD, now);
  const spend = await lineageSpend(db, [{ lineageId: key.lineageId, start }]);
  return spend.get(key.lineageId) ?? 0n;
}

/** The organisation's keys, newest first, with status and spend in the current period. Never the hash. */
export async function listKeys(db: DbOrTx, p: { orgId: string; now?: Date }) {
  const { orgId, now = new Date() } = p;
  const rows = await db
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      last4: apiKeys.last4,
      lineageId: apiKeys.lineageId,
      createdAt: apiKeys.createdAt,
      createdByName: users.name,
      createdByEmail: users.email,
      lastUsedAt: apiKeys.lastUsedAt,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      spendLimitNano: apiKeys.spendLimitNano,
      limitPeriod: apiKeys.limitPeriod,
      modelAllowlist: apiKeys.modelAllowlist,
      rpmLimit: apiKeys.rpmLimit,
      tpmLimit: apiKeys.tpmLimit,
      rotatedFromId: apiKeys.rotatedFromId,
    })
    .from(apiKeys)
    .leftJoin(users, eq(users.id, apiKeys.createdBy))
    .where(eq(apiKeys.orgId, orgId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  const starts = new Map<string, Date>();
  for (const r of rows) starts.set(r.lineageId, periodStart(r.limitPeriod ?? DISPLAY_PERIOD, now));
  const spend = await lineageSpend(
    db,
    [...starts].map(([lineageId, start]) => ({ lineageId, start })),
  );
  return rows.map(({ createdByName, createdByEmail, ...r }) => {
    const status = keyStatus(r, now);
    const period = r.limitPeriod ?? DISPLAY_PERIOD;
    return {
      ...r,
      createdBy: createdByName ?? createdByEmail ?? null,
      status,
      /** Set while a rotated key is still in its grace period. */
      revokesAt: status === "active" && r.revokedAt ? r.revokedAt : null,
      spendPeriod: period,
      periodSpendNano: spend.get(r.lineageId) ?? 0n,
      periodResetsAt: periodEnd(period, now),
    };
  });
}

/** The organisation's key, locked for the rest of the transaction so concurrent revokes and rotations serialise. */
async function lockKey(tx: DbOrTx, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.orgId, orgId)))
    .for("update");
  // Another organisation's key and no key at all get the same answer: ids do not leak.
  if (!row) throw new DomainError("NOT_FOUND", "API key not found", "keyId");
  return row;
}

/** Revokes a key now; a key whose rotation grace is running is cut short. Idempotent for revoked keys. */
export async function revokeKey(db: Db, p: { orgId: string; keyId: string; now?: Date; actorUserId?: string | null }) {
  const { orgId, keyId: id, now = new Date(), actorUserId = null } = p;
  const revoked = await db.transaction(async (tx) => {
    const key = await lockKey(tx, orgId, id);
    if (keyStatus(key, now) === "revoked") return { id, revokedAt: key.revokedAt! };
    const version = await bumpVersion(tx);
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: now, changedVersion: version })
      .where(eq(apiKeys.id, id))
      .returning({ id: apiKeys.id, revokedAt: apiKeys.revokedAt });
    await recordAudit(tx, {
      actorUserId,
      orgId,
      action: "key.revoke",
      subject: { kind: "api_key", id },
      before: { name: key.name, prefix: key.prefix, revokedAt: key.revokedAt },
      after: { revokedAt: now },
    });
    return { id: row!.id, revokedAt: row!.revokedAt! };
  });
  // After the commit, so a proxy that refetches on the message reads the revocation.
  broadcastKeysChanged([id]);
  return revoked;
}

/**
 * Replaces a key with a new secret carrying the same name, limits and lineage
 * (so the spend limit keeps counting). The old key keeps working for
 * `graceSeconds` (0: revoked now) so deployments can switch over.
 */
export async function rotateKey(
  db: Db,
  p: RotateKeyInput & { pepper: string; orgId: string; userId: string | null; now?: Date },
): Promise<CreatedKey & { oldKeyRevokesAt: Date }> {
  const { pepper, orgId, userId, now = new Date(), ...input } = p;
  const grace = validateGraceSeconds(input.graceSeconds);
  const rotated = await db.transaction(async (tx) => {
    const old = await lockKey(tx, orgId, input.keyId);
    const status = keyStatus(old, now);
    if (status !== "active") throw new DomainError("CONFLICT", `This key is ${status}; create a new key instead`, "keyId");
    if (old.revokedAt) throw new DomainError("CONFLICT", "This key has already been rotated", "keyId");
    const version = await bumpVersion(tx);
    const oldKeyRevokesAt = new Date(now.getTime() + grace * 1000);
    await tx.update(apiKeys).set({ revokedAt: oldKeyRevokesAt, changedVersion: version }).where(eq(apiKeys.id, old.id));
    const secret = generateSecret();
    const [row] = await tx
      .insert(apiKeys)
      .values({
        id: uuidv7(now.getTime()),
        orgId,
        lineageId: old.lineageId,
        name: old.name,
        ...displayParts(secret),
        hash: hashSecret(secret, pepper),
        createdBy: userId,
        createdAt: now,
        expiresAt: old.expiresAt,
        spendLimitNano: old.spendLimitNano,
        limitPeriod: old.limitPeriod,
        modelAllowlist: old.modelAllowlist,
        rpmLimit: old.rpmLimit,
        tpmLimit: old.tpmLimit,
        rotatedFromId: old.id,
        changedVersion: version,
      })
      .returning({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, last4: apiKeys.last4 });
    await recordAudit(tx, {
      actorUserId: userId,
      orgId,
      action: "key.rotate",
      subject: { kind: "api_key", id: old.id },
      before: { id: old.id, prefix: old.prefix, last4: old.last4 },
      after: { ...row, oldKeyRevokesAt },
    });
    return { ...row!, secret, oldKeyRevokesAt, oldKeyId: old.id };
  });
  const { oldKeyId, ...created } = rotated;
  broadcastKeysChanged([oldKeyId]);
  return created;
}

/**
 * Edits a key's name and limits. Applies to every still-working key of the
 * lineage, so a key in its rotation grace period follows its replacement.
 */
/** Edits a key's name and limits as `actor`; a developer may not raise or remove a limit (FORBIDDEN naming it). */
export async function updateKey(db: Db, p: UpdateKeyInput & { orgId: string; now?: Date; actor?: { userId: string | null; role: MemberRole } }) {
  const { orgId, now = new Date(), actor = { userId: null, role: "owner" }, keyId: id, name, ...rest } = p;
  const limits = validateLimits(rest, now);
  if (limits.modelAllowlist) await checkAllowlist(db, limits.modelAllowlist);
  const updated = await db.transaction(async (tx) => {
    const key = await lockKey(tx, orgId, id);
    if (keyStatus(key, now) !== "active") throw new DomainError("CONFLICT", `This key is ${keyStatus(key, now)}; it can no longer be edited`, "keyId");
    const lifted = can(actor.role, "keys.raiseLimits") ? null : liftedLimit(key, limits);
    if (lifted) throw new DomainError("FORBIDDEN", `${lifted}: only an owner may raise or remove a limit; developers may lower it`, lifted);
    const version = await bumpVersion(tx);
    const changes = { ...(name !== undefined && { name }), ...limitColumns(limits) };
    const changed = await tx
      .update(apiKeys)
      .set({ ...changes, changedVersion: version })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.lineageId, key.lineageId), or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, now))))
      .returning({ id: apiKeys.id });
    // Spend limits and allowlists decide what a leaked key can cost: every edit is on record.
    const before = Object.fromEntries(Object.keys(changes).map((k) => [k, key[k as keyof typeof changes]]));
    await recordAudit(tx, { actorUserId: actor.userId, orgId, action: "key.update", subject: { kind: "api_key", id }, before, after: changes });
    return changed.map((c) => c.id);
  });
  broadcastKeysChanged(updated);
  return { id };
}

/** What the proxy learns about a presented key. Only an active key carries its limits. */
export type KeyResolution =
  | { status: "unknown" }
  | { status: Exclude<KeyStatus, "active">; keyId: string; orgId: string }
  | {
      status: "active";
      keyId: string;
      orgId: string;
      /** When the key stops working by itself (expiry or the end of a rotation grace), so caches can expire it. */
      validUntil: Date | null;
      spendLimitNano: bigint | null;
      limitPeriod: KeyLimitPeriod | null;
      periodStart: Date | null;
      periodEnd: Date | null;
      currentPeriodSpendNano: bigint;
      modelAllowlist: string[];
      rpmLimit: number | null;
      tpmLimit: number | null;
    };

/** Resolves a key by its HMAC hash; records use (at most once a minute per key, so resolving stays cheap). */
export async function resolveKeyByHash(db: DbOrTx, p: { hash: string; now?: Date }): Promise<KeyResolution> {
  const { hash, now = new Date() } = p;
  const [key] = await db.select().from(apiKeys).where(eq(apiKeys.hash, hash));
  if (!key) return { status: "unknown" };
  const status = keyStatus(key, now);
  if (status !== "active") return { status, keyId: key.id, orgId: key.orgId };
  await db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(and(eq(apiKeys.id, key.id), or(isNull(apiKeys.lastUsedAt), sql`${apiKeys.lastUsedAt} < ${new Date(now.getTime() - 60_000)}`)));
  return {
    status,
    keyId: key.id,
    orgId: key.orgId,
    validUntil: validUntil(key),
    spendLimitNano: key.spendLimitNano,
    limitPeriod: key.limitPeriod,
    periodStart: key.limitPeriod ? periodStart(key.limitPeriod, now) : null,
    periodEnd: key.limitPeriod ? periodEnd(key.limitPeriod, now) : null,
    currentPeriodSpendNano: key.limitPeriod ? await currentPeriodSpend(db, { lineageId: key.lineageId, limitPeriod: key.limitPeriod, now }) : 0n,
    modelAllowlist: key.modelAllowlist,
    rpmLimit: key.rpmLimit,
    tpmLimit: key.tpmLimit,
  };
}

/**
 * Resolves a presented secret. The backend holds the pepper, so proxies never
 * need it; malformed secrets are "unknown" without touching the database.
 */
export function resolveKey(db: DbOrTx, p: { pepper: string; secret: string; now?: Date }): Promise<KeyResolution> {
  if (!isWellFormedSecret(p.secret)) return Promise.resolve({ status: "unknown" });
  return resolveKeyByHash(db, { hash: hashSecret(p.secret, p.pepper), now: p.now });
}

/** Most changed key ids one answer lists; past it the answer is null ("re-resolve everything"). */
export const MAX_CHANGED_KEY_IDS = 10_000;

/**
 * The revocation signal: a version that grows with every key change. With
 * `since`, also the ids of keys changed after that version, so a proxy can
 * evict just those from its cache. A provider's proxy (`serviceOrgId`) learns
 * only of keys it holds reservations for: the platform's key ids are not its to list.
 */
export async function revocationVersion(
  db: DbOrTx,
  p: { since?: number; serviceOrgId?: string | null },
): Promise<{ version: number; changedKeyIds: string[] | null }> {
  const { since, serviceOrgId = null } = p;
  const [row] = await db.select({ version: keyState.version }).from(keyState).where(eq(keyState.id, 1));
  const version = Number(row?.version ?? 0n);
  if (since === undefined) return { version, changedKeyIds: null };
  if (since >= version) return { version, changedKeyIds: [] };
  const { rows } = await db.execute<{ id: string }>(sql`
    select k.id from api_keys k where k.changed_version > ${BigInt(since)}
    ${serviceOrgId ? sql`and exists (select 1 from reservations r where r.lineage_id = k.lineage_id and r.service_org_id = ${serviceOrgId})` : sql``}
    limit ${MAX_CHANGED_KEY_IDS + 1}`);
  return { version, changedKeyIds: rows.length > MAX_CHANGED_KEY_IDS ? null : rows.map((r) => r.id) };
}
