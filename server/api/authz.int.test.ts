import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../testing/db";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { uuidv7 } from "../lib/ids";
import { addMember, callerFor, codeOf, makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { makeBuyer, makeEvent, makeListing, makeProvider } from "../usage/testing";
import { appRouter } from "./root";
import type { SessionUser } from "./trpc";

// Every procedure's access rule, in one table. A procedure missing here fails
// the first test, so new procedures cannot ship without a stated rule.
// "editor": owners and developers of the active organisation (not finance).
// "billing": owners and finance members (not developers).
type Access = "public" | "authed" | "member" | "editor" | "billing" | "owner" | "platform-finance" | "service";
const accessRules: Record<string, Access> = {
  "account.signUp": "public",
  "account.me": "authed",
  "orgs.create": "authed",
  "orgs.switch": "authed",
  "orgs.invitation": "authed",
  "orgs.acceptInvite": "authed",
  "orgs.current": "member",
  "orgs.members": "member",
  "orgs.invites": "owner",
  "orgs.invite": "owner",
  "orgs.revokeInvite": "owner",
  "orgs.removeMember": "owner",
  "orgs.setRole": "owner",
  "orgs.rename": "owner",
  "keys.list": "member",
  "keys.create": "editor",
  "keys.update": "editor",
  "keys.revoke": "editor",
  "keys.rotate": "editor",
  "keys.resolve": "service",
  "keys.revocationVersion": "service",
  "catalog.marketplace": "public",
  "catalog.facets": "public",
  "catalog.family": "public",
  "catalog.listing": "public",
  "catalog.mine": "member",
  "catalog.get": "member",
  "catalog.create": "editor",
  "catalog.update": "editor",
  "catalog.testConnection": "editor",
  "catalog.setStatus": "owner",
  "catalog.changePrice": "owner",
  "catalog.cancelScheduledPrice": "owner",
  "catalog.routing": "service",
  "credits.balance": "member",
  "credits.topups": "member",
  "credits.topup": "member",
  "credits.createTopUp": "billing",
  "credits.payLocally": "billing",
  "credits.cancelTopUp": "billing",
  "credits.setLowBalanceThreshold": "billing",
  "ledger.balances": "member",
  "ledger.trialBalance": "platform-finance",
  "ledger.statement": "platform-finance",
  "ledger.invariants": "platform-finance",
  "reservations.reserve": "service",
  "reservations.release": "service",
  "usage.report": "service",
  "usage.generation": "service",
  "energy.report": "service",
  "dashboards.overview": "member",
  "dashboards.series": "member",
  "dashboards.activity": "member",
  "dashboards.activityTotals": "member",
  "dashboards.energy": "member",
  "dashboards.keySpend": "member",
  "dashboards.earnings": "member",
  "dashboards.performance": "member",
  "dashboards.payouts": "member",
  "economy.buyerCput": "member",
  "economy.providerCput": "member",
  "economy.energyStatement": "member",
  "finance.accounts": "platform-finance",
  "finance.organizations": "platform-finance",
  "finance.journal": "platform-finance",
  "finance.transfer": "platform-finance",
  "finance.usageEvents": "platform-finance",
  "finance.reconciliation": "platform-finance",
  "finance.settlementHealth": "platform-finance",
  "finance.usageBusLag": "platform-finance",
  "finance.periods": "platform-finance",
  "finance.closePeriod": "platform-finance",
  "finance.reviewConflict": "platform-finance",
  "finance.myStatement": "billing",
  "finance.myMonthly": "billing",
  "finance.myUsage": "billing",
  "payouts.payables": "platform-finance",
  "payouts.record": "platform-finance",
  "payouts.list": "platform-finance",
  "payouts.mine": "billing",
  "connect.status": "billing",
  "connect.onboardingLink": "owner",
  "connect.completeLocalOnboarding": "owner",
  "connect.earnings": "billing",
  "connect.statement": "billing",
  "connect.preview": "platform-finance",
  "connect.run": "platform-finance",
  "audit.list": "platform-finance",
  "audit.mine": "billing",
};

let t: TestDb;
let ownerA: SessionUser, devA: SessionUser, financeA: SessionUser, ownerB: SessionUser, loner: SessionUser, platformOwner: SessionUser;
let orgA: { id: string }, orgB: { id: string };

beforeAll(async () => {
  t = await createTestDb();
  ownerA = await makeUser(t.db, "ownerA");
  devA = await makeUser(t.db, "devA");
  financeA = await makeUser(t.db, "financeA");
  ownerB = await makeUser(t.db, "ownerB");
  loner = await makeUser(t.db, "loner");
  orgA = await makeOrg(t.db, ownerA);
  await addMember(t.db, orgA.id, devA, "developer");
  await addMember(t.db, orgA.id, financeA, "finance");
  orgB = await makeOrg(t.db, ownerB);
  platformOwner = await makeUser(t.db, "platformOwner");
  await makeOrg(t.db, platformOwner, { isPlatform: true });
});
afterAll(() => t.close());

function procedureNames(): string[] {
  return Object.keys(appRouter._def.procedures);
}

// Minimal valid inputs; ids point at organisation B's things where it matters.
function sampleInput(name: string): unknown {
  const inputs: Record<string, unknown> = {
    "account.signUp": { name: "X", email: `new-${Math.random()}@test.example`, password: "long-enough-pass" },
    "orgs.create": { name: "Fresh org" },
    "orgs.switch": { orgId: orgB.id },
    "orgs.invitation": { token: "not-a-real-token-123" },
    "orgs.acceptInvite": { token: "not-a-real-token-123" },
    "orgs.invite": { email: "someone@test.example", role: "developer" },
    "orgs.revokeInvite": { inviteId: "00000000-0000-7000-8000-000000000000" },
    "orgs.removeMember": { userId: ownerB.id },
    "orgs.setRole": { userId: ownerB.id, role: "finance" },
    "orgs.rename": { name: "Renamed" },
    "keys.create": { name: "Sample key" },
    "keys.update": { keyId: "00000000-0000-7000-8000-000000000000", rpmLimit: 10 },
    "keys.revoke": { keyId: "00000000-0000-7000-8000-000000000000" },
    "keys.rotate": { keyId: "00000000-0000-7000-8000-000000000000", graceSeconds: 0 },
    "keys.resolve": { secret: "tm_not-a-real-key" },
    "catalog.marketplace": {},
    "catalog.family": { family: "llama-3.1-8b" },
    "catalog.listing": { slug: "org/model" },
    "catalog.get": { id: "00000000-0000-7000-8000-000000000000" },
    "catalog.create": {
      modelSlug: "authz-model",
      name: "Authz model",
      family: "llama-3.1-8b",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: "m",
      prices: { unit: "1M", input: "0.1", output: "0.2", cachedInput: "0" },
    },
    "catalog.update": {
      id: "00000000-0000-7000-8000-000000000000",
      name: "Authz model",
      family: "llama-3.1-8b",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: "m",
    },
    "catalog.testConnection": { id: "00000000-0000-7000-8000-000000000000" },
    "catalog.setStatus": { id: "00000000-0000-7000-8000-000000000000", status: "published" },
    "catalog.changePrice": { id: "00000000-0000-7000-8000-000000000000", prices: { unit: "1M", input: "1", output: "1", cachedInput: "0" } },
    "catalog.cancelScheduledPrice": { id: "00000000-0000-7000-8000-000000000000", effectiveFrom: new Date("2030-01-01") },
    "credits.topup": { topupId: "00000000-0000-7000-8000-000000000000" },
    "credits.createTopUp": { amountUsd: "25" },
    "credits.payLocally": { topupId: "00000000-0000-7000-8000-000000000000", outcome: "pay" },
    "credits.cancelTopUp": { topupId: "00000000-0000-7000-8000-000000000000" },
    "credits.setLowBalanceThreshold": { thresholdUsd: "5" },
    "ledger.statement": { accountId: "00000000-0000-7000-8000-000000000000" },
    "reservations.reserve": { id: "00000000-0000-7000-8000-000000000001", keyId: "00000000-0000-7000-8000-000000000000", amountNano: 1000n, ttlSeconds: 60 },
    "reservations.release": { id: "00000000-0000-7000-8000-000000000001" },
    "usage.report": { events: [{ id: "00000000-0000-7000-8000-000000000002" }] },
    "usage.generation": { id: "00000000-0000-7000-8000-000000000002", keyId: "00000000-0000-7000-8000-000000000000" },
    "energy.report": { listingId: "00000000-0000-7000-8000-000000000000", hour: new Date("2026-01-01T00:00:00Z"), joules: 1, tokensServed: 1 },
    "dashboards.overview": { tz: "UTC" },
    "dashboards.series": { tz: "UTC", granularity: "day", days: 7, groupBy: "key" },
    "dashboards.activity": { filter: {}, limit: 10 },
    "dashboards.activityTotals": { filter: {} },
    "dashboards.energy": { tz: "UTC", days: 7 },
    "economy.energyStatement": { month: "2026-12" },
    "dashboards.earnings": { tz: "UTC", days: 7 },
    "dashboards.performance": { tz: "UTC", days: 1 },
    "finance.accounts": {},
    "finance.journal": {},
    "finance.transfer": { id: "00000000-0000-7000-8000-000000000000" },
    "finance.usageEvents": { transferId: "00000000-0000-7000-8000-000000000000" },
    "finance.reconciliation": { from: new Date("2026-01-01"), to: new Date("2026-02-01") },
    "finance.closePeriod": { month: "2020-01" },
    "finance.reviewConflict": { conflictId: "00000000-0000-7000-8000-000000000000", note: "reviewed in authz test" },
    "finance.myStatement": { kind: "buyer_credits" },
    "finance.myMonthly": { month: "2026-01" },
    "finance.myUsage": { from: new Date("2026-01-01"), to: new Date("2026-02-01") },
    "payouts.record": {
      id: "00000000-0000-7000-8000-000000000000",
      orgId: "00000000-0000-7000-8000-000000000000",
      amountUsd: "1",
      paidOn: "2026-01-01",
      bankReference: "authz test",
    },
    "payouts.list": {},
    "payouts.mine": {},
    "connect.statement": { payoutId: "00000000-0000-7000-8000-000000000000" },
    "connect.preview": {},
    "connect.run": { runId: "00000000-0000-7000-8000-000000000000" },
    "audit.list": {},
    "audit.mine": {},
  };
  return inputs[name];
}

async function call(user: SessionUser | null, name: string, input: unknown) {
  const caller = callerFor(t.db, user) as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
  const [ns, proc] = name.split(".") as [string, string];
  return caller[ns]![proc]!(input);
}

describe("authorisation, for every procedure", () => {
  it("every procedure has an access rule", () => {
    expect(procedureNames().filter((n) => !(n in accessRules))).toEqual([]);
  });

  it.each(Object.entries(accessRules).filter(([, a]) => a !== "public"))("%s refuses a signed-out caller", async (name) => {
    expect(await codeOf(call(null, name, sampleInput(name)))).toBe("UNAUTHORIZED");
  });

  it.each(Object.entries(accessRules).filter(([, a]) => a === "member" || a === "editor" || a === "billing" || a === "owner"))(
    "%s refuses a user with no organisation",
    async (name) => {
      expect(await codeOf(call(loner, name, sampleInput(name)))).toBe("FORBIDDEN");
    },
  );

  const serviceOnly = Object.entries(accessRules).filter(([, a]) => a === "service");
  if (serviceOnly.length) {
    it.each(serviceOnly)("%s refuses a signed-in owner without a service token, and a wrong token", async (name) => {
      expect(await codeOf(call(ownerA, name, sampleInput(name)))).toBe("UNAUTHORIZED");
      const wrong = callerFor(t.db, null, "wrong-token-wrong-token-wrong-token") as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
      const [ns, proc] = name.split(".") as [string, string];
      expect(await codeOf(wrong[ns]![proc]!(sampleInput(name)))).toBe("UNAUTHORIZED");
    });
  }

  it.each(Object.entries(accessRules).filter(([, a]) => a === "editor"))("%s refuses finance members", async (name) => {
    expect(await codeOf(call(financeA, name, sampleInput(name)))).toBe("FORBIDDEN");
  });
  it.each(Object.entries(accessRules).filter(([, a]) => a === "platform-finance"))(
    "%s refuses finance members of ordinary organisations and the platform's non-finance members",
    async (name) => {
      expect(await codeOf(call(financeA, name, sampleInput(name)))).toBe("FORBIDDEN");
      expect(await codeOf(call(ownerA, name, sampleInput(name)))).toBe("FORBIDDEN");
      expect(await codeOf(call(platformOwner, name, sampleInput(name)))).toBe("FORBIDDEN");
      expect(await codeOf(call(loner, name, sampleInput(name)))).toBe("FORBIDDEN");
    },
  );

  it.each(Object.entries(accessRules).filter(([, a]) => a === "billing"))("%s refuses developers", async (name) => {
    expect(await codeOf(call(devA, name, sampleInput(name)))).toBe("FORBIDDEN");
  });

  it.each(Object.entries(accessRules).filter(([, a]) => a === "owner"))("%s refuses developer and finance members", async (name) => {
    expect(await codeOf(call(devA, name, sampleInput(name)))).toBe("FORBIDDEN");
    expect(await codeOf(call(financeA, name, sampleInput(name)))).toBe("FORBIDDEN");
  });
});

describe("organisation isolation", () => {
  it("a member of A cannot switch into B", async () => {
    expect(await codeOf(call(ownerA, "orgs.switch", { orgId: orgB.id }))).toBe("NOT_FOUND");
  });

  it("A's owner cannot remove or re-role B's members, nor revoke B's invites", async () => {
    const invite = await callerFor(t.db, ownerB).orgs.invite({ email: "b-invitee@test.example", role: "developer" });
    expect(await codeOf(call(ownerA, "orgs.removeMember", { userId: ownerB.id }))).toBe("NOT_FOUND");
    expect(await codeOf(call(ownerA, "orgs.setRole", { userId: ownerB.id, role: "finance" }))).toBe("NOT_FOUND");
    expect(await codeOf(call(ownerA, "orgs.revokeInvite", { inviteId: invite.id }))).toBe("NOT_FOUND");
    const bInvites = await callerFor(t.db, ownerB).orgs.invites();
    expect(bInvites.map((i) => i.email)).toContain("b-invitee@test.example");
    const bMembers = await callerFor(t.db, ownerB).orgs.members();
    expect(bMembers).toEqual([expect.objectContaining({ userId: ownerB.id, role: "owner" })]);
  });

  it("reads only show the active organisation's members", async () => {
    const members = await callerFor(t.db, devA).orgs.members();
    expect(members.map((m) => m.userId).sort()).toEqual([ownerA.id, devA.id, financeA.id].sort());
  });

  it("an invite for someone else's email cannot be accepted", async () => {
    const invite = await callerFor(t.db, ownerB).orgs.invite({ email: "meant-for@test.example", role: "finance" });
    expect(await codeOf(call(loner, "orgs.acceptInvite", { token: invite.token }))).toBe("FORBIDDEN");
    expect(await codeOf(callerFor(t.db, loner).orgs.current())).toBe("FORBIDDEN");
  });
});

describe("bad input names the field and writes nothing", () => {
  const cases: [string, string, unknown, string][] = [
    ["account.signUp", "short password", { name: "A", email: "a@test.example", password: "short" }, "password"],
    ["account.signUp", "bad email", { name: "A", email: "nope", password: "long-enough-pass" }, "email"],
    ["orgs.create", "one-letter name", { name: "x" }, "name"],
    ["orgs.create", "bad slug", { name: "Good name", slug: "Bad Slug!" }, "slug"],
    ["orgs.invite", "bad email", { email: "not-an-email", role: "developer" }, "email"],
    ["orgs.invite", "unknown role", { email: "x@test.example", role: "admin" }, "role"],
    ["orgs.rename", "empty name", { name: "" }, "name"],
    ["orgs.setRole", "unknown role", { userId: "x", role: "boss" }, "role"],
  ];
  it.each(cases)("%s: %s", async (name, _label, input, field) => {
    const before = await t.pool.query(
      "select (select count(*) from users) u, (select count(*) from organizations) o, (select count(*) from invites) i, (select count(*) from memberships) m",
    );
    const err = await call(ownerA, name, input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("BAD_REQUEST");
    expect((err as TRPCError).message).toContain(field);
    const after = await t.pool.query(
      "select (select count(*) from users) u, (select count(*) from organizations) o, (select count(*) from invites) i, (select count(*) from memberships) m",
    );
    expect(after.rows).toEqual(before.rows);
  });

  it("a taken email is refused, naming the email", async () => {
    const err = await call(null, "account.signUp", { name: "Dup", email: ownerA.email, password: "long-enough-pass" }).then(
      () => null,
      (e: unknown) => e as TRPCError,
    );
    expect(err?.code).toBe("CONFLICT");
    expect(err?.message).toMatch(/email/);
  });
});

// Service identities: a provider-run proxy's token acting outside its own listings.
// Every service procedure needs a case here; each is refused (or answers only the provider's
// own part) and writes nothing.
describe("a provider's service token outside its own listings", () => {
  const PROVIDER_TOKEN = "authz-provider-token-0123456789abcdef0123";
  const price = [{ effectiveFrom: new Date(Date.now() - 86_400_000), inputPer1kNano: 1000n, outputPer1kNano: 2000n, cachedInputPer1kNano: 0n }];
  type Caller = ReturnType<typeof callerFor>;
  let provider: Caller;
  let world: { ownListing: string; otherListing: string; otherSlug: string; keyId: string; platformHold: string; otherEvent: string };

  beforeAll(async () => {
    const mine = await makeProvider(t.db, "authz-prov");
    const other = await makeProvider(t.db, "authz-other");
    const ownListing = (await makeListing(t.db, mine, price)).id;
    const otherListing = await makeListing(t.db, other, price);
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const matcher = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${mine.slug}:${PROVIDER_TOKEN}`);
    provider = callerFor(t.db, null, PROVIDER_TOKEN, matcher);
    const platform = callerFor(t.db, null, TEST_SERVICE_TOKEN, matcher);
    const platformHold = (await platform.reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 1_000_000n, ttlSeconds: 60 })).id;
    const otherEvent = makeEvent({ keyId: buyer.keyIds[0]!, listingId: otherListing.id });
    await platform.usage.report({ events: [otherEvent] });
    await t.pool.query("insert into key_state (id, version) values (1, 1) on conflict (id) do update set version = key_state.version + 1");
    await t.pool.query("update api_keys set changed_version = (select version from key_state) where id = $1", [buyer.keyIds[0]]);
    world = { ownListing, otherListing: otherListing.id, otherSlug: otherListing.slug, keyId: buyer.keyIds[0]!, platformHold, otherEvent: otherEvent.id };
  });

  const cases: Record<string, () => Promise<void>> = {
    "keys.resolve": async () => expect(await provider.keys.resolve({ secret: "tm_not-a-real-key" })).toEqual({ status: "unknown" }),
    "keys.revocationVersion": async () => expect((await provider.keys.revocationVersion({ since: 0 })).changedKeyIds).toEqual([]),
    "catalog.routing": async () => expect((await provider.catalog.routing()).listings.map((l) => l.listingId)).toEqual([world.ownListing]),
    "reservations.reserve": async () => {
      const ask = { id: uuidv7(), keyId: world.keyId, amountNano: 1_000_000n, ttlSeconds: 60 };
      expect(await codeOf(provider.reservations.reserve({ ...ask, listingId: world.otherListing }))).toBe("FORBIDDEN");
      expect(await codeOf(provider.reservations.reserve(ask))).toBe("FORBIDDEN");
    },
    "reservations.release": async () => expect(await codeOf(provider.reservations.release({ id: world.platformHold }))).toBe("NOT_FOUND"),
    "usage.report": async () => {
      const theirs = makeEvent({ keyId: world.keyId, listingId: world.otherListing, reservationId: world.platformHold });
      const unreserved = makeEvent({ keyId: world.keyId, listingId: world.ownListing });
      const onPlatformHold = makeEvent({ keyId: world.keyId, listingId: world.ownListing, reservationId: world.platformHold });
      const res = await provider.usage.report({ events: [theirs, unreserved, onPlatformHold] });
      expect(res.results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    },
    "usage.generation": async () => expect(await provider.usage.generation({ id: world.otherEvent, keyId: world.keyId })).toBeNull(),
    "energy.report": async () => {
      const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
      expect(await codeOf(provider.energy.report({ listingId: world.otherListing, hour, joules: 1000, tokensServed: 5000 }))).toBe("FORBIDDEN");
    },
  };

  it("every service procedure has a case", () => {
    expect(
      Object.entries(accessRules)
        .filter(([, a]) => a === "service")
        .map(([n]) => n)
        .sort(),
    ).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.keys(cases))("%s is refused or scoped to the provider, and writes nothing", async (name) => {
    const count = () =>
      t.pool.query(
        "select (select count(*) from reservations) r, (select count(*) from ledger_transfers) l, (select count(*) from usage_events) u, (select count(*) from ledger_pending) p, (select count(*) from listing_energy_readings) e",
      );
    const before = (await count()).rows;
    await cases[name]!();
    expect((await count()).rows).toEqual(before);
  });
});
