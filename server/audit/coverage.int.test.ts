import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, makeUser } from "../testing/fixtures";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { changedFields } from "./diff";

/**
 * Issue #16: the audit log missed key limit and allowlist edits, listing publish and pause,
 * invites and organisation creation. Each action, done through the API, leaves one entry
 * in its organisation's log, with the fields it changed.
 */
let t: TestDb;
let upstream: DemoUpstream;
beforeAll(async () => {
  t = await createTestDb();
  upstream = await startDemoUpstream();
});
afterAll(async () => {
  await upstream.close();
  await t.close();
});

async function entries(caller: ReturnType<typeof callerFor>) {
  return (await caller.audit.mine({ limit: 200 })).entries;
}

describe("the audit log records every sensitive action", () => {
  it("organisation creation, invites, listing status, price schedule and cancel, key limits and allowlist", async () => {
    const owner = await makeUser(t.db, "audit-owner");
    const as = callerFor(t.db, owner);
    const org = await as.orgs.create({ name: "Audited Org" });

    await as.orgs.invite({ email: "newcomer@test.example", role: "developer" });

    const listing = await as.catalog.create({
      modelSlug: "audited-model",
      name: "Audited model",
      family: "llama-3.1-8b",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: upstream.url,
      upstreamModel: "llama-3.1-8b-instruct",
      prices: { unit: "1M", input: "0.1", output: "0.2", cachedInput: "0" },
    });
    await as.catalog.setStatus({ id: listing.id, status: "published" });
    await as.catalog.setStatus({ id: listing.id, status: "paused" });
    const later = new Date(Date.now() + 86_400_000);
    await as.catalog.changePrice({ id: listing.id, prices: { unit: "1M", input: "0.3", output: "0.4", cachedInput: "0" }, effectiveFrom: later });
    await as.catalog.cancelScheduledPrice({ id: listing.id, effectiveFrom: later });

    const key = await as.keys.create({ name: "Audited key", spendLimitUsd: "10", limitPeriod: "monthly" });
    await as.keys.update({ keyId: key.id, spendLimitUsd: "25.50", limitPeriod: "monthly" });
    await as.keys.update({ keyId: key.id, modelAllowlist: [`${org.slug}/audited-model`] });

    const log = await entries(as);
    const actions = log.map((e) => e.action).reverse();
    expect(actions).toEqual([
      "org.create",
      "member.invite",
      "listing.status",
      "listing.status",
      "price.change",
      "price.cancel",
      "key.create",
      "key.update",
      "key.update",
    ]);
    expect(log.every((e) => e.actorUserId === owner.id && e.orgId === org.id)).toBe(true);

    const [allowlist, limit] = log.filter((e) => e.action === "key.update");
    expect(changedFields(limit!.before, limit!.after)).toEqual([{ field: "spendLimitNano", label: "spend limit", before: "$10.00", after: "$25.50" }]);
    expect(changedFields(allowlist!.before, allowlist!.after)).toEqual([
      { field: "modelAllowlist", label: "models allowed", before: "none", after: `${org.slug}/audited-model` },
    ]);
    const [paused, published] = log.filter((e) => e.action === "listing.status");
    expect(changedFields(published!.before, published!.after)).toMatchObject([{ field: "status", before: "draft", after: "published" }]);
    expect(changedFields(paused!.before, paused!.after)).toMatchObject([{ field: "status", before: "published", after: "paused" }]);
    const invite = log.find((e) => e.action === "member.invite")!;
    expect(invite.after).toEqual({ email: "newcomer@test.example", role: "developer" });
    // The invite token is a secret: never in the log.
    expect(JSON.stringify(log)).not.toMatch(/token/i);
  });

  it("the same email cannot be invited twice while an invite is pending; after revoking it can", async () => {
    const owner = await makeUser(t.db, "invite-owner");
    const as = callerFor(t.db, owner);
    await as.orgs.create({ name: "Inviting Org" });
    const first = await as.orgs.invite({ email: "twice@test.example", role: "developer" });
    await expect(as.orgs.invite({ email: "twice@test.example", role: "finance" })).rejects.toThrow(/already has a pending invite/);
    await expect(as.orgs.invite({ email: "TWICE@test.example", role: "finance" })).rejects.toThrow(/pending invite/);
    expect((await as.orgs.invites()).map((i) => i.email)).toEqual(["twice@test.example"]);
    await as.orgs.revokeInvite({ inviteId: first.id });
    await as.orgs.invite({ email: "twice@test.example", role: "finance" });
    expect((await as.orgs.invites()).map((i) => i.role)).toEqual(["finance"]);
  });
});
