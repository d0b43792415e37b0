import { usageCostNano } from "../ledger/money";
import { uuidv7 } from "../lib/ids";
import type { UsageEvent } from "../usage/contract";
import type { Backend, KeyResolution, RoutingListing } from "./backend";
import { registerSecrets } from "../testing/secrets";
import { demoTokenizer } from "../upstream-demo/server";

/**
 * An in-memory Backend for the proxy's own tests and the benchmark: the same
 * contract (server/usage/contract.ts) with a balance per organisation,
 * reservations, idempotent reports and generations, and switches to make it
 * slow or unreachable. Not the settlement rules: the acceptance tests run
 * against the real backend (server/testing/backend.ts).
 */

type Reservation = { keyId: string; orgId: string; grantedNano: bigint; usedNano: bigint; releasedNano: bigint; expiresAt: Date };

export class FakeBackend implements Backend {
  listings: RoutingListing[] = [];
  readonly keys = new Map<string, KeyResolution>();
  readonly balances = new Map<string, bigint>();
  readonly reservations = new Map<string, Reservation>();
  readonly events = new Map<string, UsageEvent & { costNano: bigint }>();
  version = 1;
  private readonly changed: { version: number; keyId: string }[] = [];
  /** Every call by procedure name, for tests to count backend round trips. */
  readonly calls: Record<string, number> = {};
  /** When set, every call fails (the backend is unreachable). */
  down = false;
  /** Fail this many next report calls. */
  failReports = 0;

  private call(name: string) {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    if (this.down) throw new Error("fake backend is down");
  }

  addKey(secret: string, orgId: string, overrides: Partial<Extract<KeyResolution, { status: "active" }>> = {}) {
    registerSecrets(secret);
    const keyId = overrides.keyId ?? uuidv7();
    this.keys.set(secret, {
      status: "active",
      keyId,
      orgId,
      validUntil: null,
      spendLimitNano: null,
      limitPeriod: null,
      periodStart: null,
      periodEnd: null,
      currentPeriodSpendNano: 0n,
      modelAllowlist: [],
      rpmLimit: null,
      tpmLimit: null,
      ...overrides,
    });
    return keyId;
  }

  revoke(secret: string) {
    const k = this.keys.get(secret);
    if (!k || k.status === "unknown") return;
    this.keys.set(secret, { status: "revoked", keyId: k.keyId, orgId: k.orgId });
    this.changed.push({ version: ++this.version, keyId: k.keyId });
  }

  private reservedNano(orgId: string): bigint {
    let held = 0n;
    for (const r of this.reservations.values()) {
      if (r.orgId !== orgId || r.expiresAt.getTime() < Date.now()) continue;
      const left = r.grantedNano - r.usedNano - r.releasedNano;
      if (left > 0n) held += left;
    }
    return held;
  }

  async routing() {
    this.call("routing");
    return this.listings;
  }

  async resolveKey(secret: string) {
    this.call("resolveKey");
    return this.keys.get(secret) ?? { status: "unknown" as const };
  }

  async revocationVersion(since?: number) {
    this.call("revocationVersion");
    if (since === undefined) return { version: this.version, changedKeyIds: null };
    return { version: this.version, changedKeyIds: this.changed.filter((c) => c.version > since).map((c) => c.keyId) };
  }

  async reserve(input: { id: string; keyId: string; amountNano: bigint; ttlSeconds: number }) {
    this.call("reserve");
    const existing = this.reservations.get(input.id);
    if (existing) return { id: input.id, grantedNano: existing.grantedNano, expiresAt: existing.expiresAt, limitedBy: null };
    const key = [...this.keys.values()].find((k) => k.status === "active" && k.keyId === input.keyId);
    if (!key || key.status !== "active") return { id: input.id, grantedNano: 0n, expiresAt: new Date(), limitedBy: "blocked" as const };
    const available = (this.balances.get(key.orgId) ?? 0n) - this.reservedNano(key.orgId);
    const grantedNano = available <= 0n ? 0n : available < input.amountNano ? available : input.amountNano;
    const expiresAt = new Date(Date.now() + input.ttlSeconds * 1000);
    this.reservations.set(input.id, { keyId: input.keyId, orgId: key.orgId, grantedNano, usedNano: 0n, releasedNano: 0n, expiresAt });
    return { id: input.id, grantedNano, expiresAt, limitedBy: grantedNano < input.amountNano ? ("credit" as const) : null };
  }

  async release(input: { id: string; amountNano?: bigint }) {
    this.call("release");
    const r = this.reservations.get(input.id);
    if (!r) return { releasedNano: 0n };
    const left = r.grantedNano - r.usedNano - r.releasedNano;
    const amount = input.amountNano === undefined || input.amountNano > left ? (left > 0n ? left : 0n) : input.amountNano;
    r.releasedNano += amount;
    return { releasedNano: amount };
  }

  async report(events: UsageEvent[]) {
    this.call("report");
    if (this.failReports > 0) {
      this.failReports--;
      throw new Error("fake backend report failed");
    }
    const results = events.map((e) => {
      if (this.events.has(e.id)) return { id: e.id, status: "duplicate" as const, costNano: this.events.get(e.id)!.costNano, reason: null };
      const listing = this.listings.find((l) => l.listingId === e.listingId);
      if (!listing) return { id: e.id, status: "rejected" as const, costNano: null, reason: "unknown listing" };
      const costNano = usageCostNano({ input: e.inputTokens, output: e.outputTokens, cachedInput: e.cachedInputTokens }, listing.currentPrice);
      this.events.set(e.id, { ...e, costNano });
      const key = [...this.keys.values()].find((k) => k.status !== "unknown" && k.keyId === e.keyId);
      if (key && key.status !== "unknown") this.balances.set(key.orgId, (this.balances.get(key.orgId) ?? 0n) - costNano);
      const r = e.reservationId ? this.reservations.get(e.reservationId) : undefined;
      if (r) r.usedNano += costNano;
      return { id: e.id, status: "settled" as const, costNano, reason: null };
    });
    return { results };
  }

  async generation(input: { id: string; keyId: string }) {
    this.call("generation");
    const e = this.events.get(input.id);
    if (!e || e.keyId !== input.keyId) return null;
    const listing = this.listings.find((l) => l.listingId === e.listingId)!;
    return {
      id: e.id,
      listingSlug: listing.slug,
      providerOrg: listing.orgSlug,
      inputTokens: e.inputTokens,
      outputTokens: e.outputTokens,
      cachedInputTokens: e.cachedInputTokens,
      costNano: e.costNano,
      startedAt: e.startedAt,
      firstTokenAt: e.firstTokenAt,
      endedAt: e.endedAt,
      status: e.status,
      estimated: e.estimated,
      finishReason: e.finishReason ?? null,
      energyJoules: e.energyJoules ?? null,
      settlement: "settled" as const,
    };
  }

  /** Sum of settled costs of an organisation's keys. */
  settledNano(): bigint {
    let total = 0n;
    for (const e of this.events.values()) total += e.costNano;
    return total;
  }
}

/** A demo-like listing on `upstreamUrl` with prices in nano-USD per 1k tokens. */
export function fakeListing(
  upstreamUrl: string,
  p: {
    slug: string;
    family?: string;
    upstreamModel?: string;
    modalities?: string[];
    input?: bigint;
    output?: bigint;
    cached?: bigint;
    tokensPerWatt?: number | null;
    contextLength?: number;
    tokenizer?: string;
  },
): RoutingListing {
  const [orgSlug] = p.slug.split("/");
  return {
    listingId: uuidv7(),
    slug: p.slug,
    orgId: uuidv7(),
    orgSlug: orgSlug!,
    family: p.family ?? p.slug.split("/")[1]!,
    modalities: p.modalities ?? ["chat", "completion"],
    contextLength: p.contextLength ?? 131_072,
    upstreamBaseUrl: upstreamUrl,
    upstreamModel: p.upstreamModel ?? "llama-3.1-8b-instruct",
    upstreamCredential: null,
    tokensPerWatt: p.tokensPerWatt ?? null,
    tokenizer: p.tokenizer ?? demoTokenizer(p.upstreamModel ?? "llama-3.1-8b-instruct"),
    currentPrice: {
      effectiveFrom: new Date(Date.now() - 86_400_000),
      inputPer1kNano: p.input ?? 50_000n,
      outputPer1kNano: p.output ?? 80_000n,
      cachedInputPer1kNano: p.cached ?? 25_000n,
    },
    scheduledPrices: [],
  };
}
