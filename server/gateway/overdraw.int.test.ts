import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listingPrices, listings } from "../../db/schema";
import { seedDemo } from "../../db/seed";
import { catalogEncryptionKey, keyPepper } from "../env";
import { runReconciliation } from "../finance/reconcile";
import type { CreateKeyInput } from "../keys/inputs";
import { createKey } from "../keys/service";
import { ensureAccount, getBalance, type LedgerAccount } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { uuidv7 } from "../lib/ids";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { makeOrg, makeUser } from "../testing/fixtures";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { startHostileUpstream, type HostileUpstream } from "./hostile-upstream";
import { spawnGateway, type GatewayProcess } from "./spawn";

/**
 * Issue 14, acceptance 3, against the real backend: an upstream that bills every
 * request as dearly as it honestly could (each of n choices to max_tokens, each
 * image as a high-detail one, tool schemas counted) under a concurrent burst.
 * The proxy's holds cover that worst case, so a key with a $0.05 limit never
 * spends past it and a buyer's credit never goes below zero.
 */

let demo: DemoUpstream;
let greedy: HostileUpstream;
let backend: TestBackend;
let clearing: LedgerAccount;
let proxy: GatewayProcess;
let spoolDir: string;
let model: string;
let overSlug: string;
let overId: string;

/** A chat listing of the demo provider on the hostile upstream, answering as `behaviour`. */
async function hostileListing(name: string, behaviour: string, prices: { inputPer1kNano: bigint; outputPer1kNano: bigint; cachedInputPer1kNano: bigint }) {
  const [base] = await backend.t.db.select().from(listings).limit(1);
  const id = uuidv7();
  const slug = `${base!.slug.split("/")[0]}/${name}`;
  await backend.t.db.insert(listings).values({
    ...base!,
    id,
    slug,
    modelSlug: name,
    family: name,
    modalities: ["chat"],
    upstreamBaseUrl: greedy.url,
    upstreamModel: behaviour,
    upstreamCredentialEnc: null,
    upstreamCredentialLast4: null,
    status: "published",
  });
  await backend.t.db.insert(listingPrices).values({ listingId: id, effectiveFrom: new Date(Date.now() - 60_000), ...prices });
  return { id, slug };
}

beforeAll(async () => {
  demo = await startDemoUpstream();
  greedy = await startHostileUpstream();
  backend = await startTestBackend();
  await seedDemo(backend.t.db, { upstreamUrl: demo.url, encryptionKey: catalogEncryptionKey() });
  clearing = await backend.t.db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
  // $1 / $2 per 1M tokens, cached input dearer than input ($1.50): the hold must take the dearer.
  model = (await hostileListing("greedy-vl", "greedy", { inputPer1kNano: 1_000_000n, outputPer1kNano: 2_000_000n, cachedInputPer1kNano: 1_500_000n })).slug;
  ({ id: overId, slug: overSlug } = await hostileListing("over-8b", "usage-over-max", {
    inputPer1kNano: 50_000n,
    outputPer1kNano: 80_000n,
    cachedInputPer1kNano: 25_000n,
  }));
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-overdraw-"));
  proxy = await spawnGateway({
    GATEWAY_BACKEND_URL: backend.url,
    SERVICE_TOKEN: backend.serviceToken,
    GATEWAY_SPOOL_DIR: spoolDir,
    UPSTREAM_ALLOW_PRIVATE: `${new URL(greedy.url).host},${new URL(demo.url).host}`,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await backend?.close();
  await greedy?.close();
  await demo?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

async function buyer(creditNano: bigint, limits: CreateKeyInput) {
  const db = backend.t.db;
  const owner = await makeUser(db, "buyer");
  const org = await makeOrg(db, owner);
  const account = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
  await topUp(db, account, clearing, creditNano);
  const key = await createKey(db, { ...limits, pepper: keyPepper(), orgId: org.id, userId: owner.id });
  return { account, secret: key.secret };
}

const IMAGE = { type: "image_url" as const, image_url: { url: "https://example.com/cat.png", detail: "high" as const } };
const TOOLS = [
  {
    type: "function" as const,
    function: {
      name: "lookup",
      description: "Looks a thing up",
      parameters: { type: "object", properties: { q: { type: "string", description: "what to look up ".repeat(10) } } },
    },
  },
];

/** 40 concurrent requests with n = 4, two images and a tool each; the statuses. */
async function burst(secret: string) {
  const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
  return Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      try {
        await client.chat.completions.create({
          model,
          messages: [{ role: "user", content: [{ type: "text", text: `describe these ${i}` }, IMAGE, IMAGE] }],
          tools: TOOLS,
          n: 4,
          max_tokens: 200,
        });
        return 200;
      } catch (err) {
        if (err instanceof OpenAI.APIError) return err.status ?? 0;
        throw err;
      }
    }),
  );
}

async function drained() {
  for (let i = 0; i < 300; i++) {
    const h = (await (await fetch(`${proxy.url}/healthz`)).json()) as { unreported: number };
    if (h.unreported === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("usage never drained");
}

describe("an upstream that over-reports, against the real backend", () => {
  it("is billed at most the hold, and finance sees the anomaly in reconciliation", async () => {
    const b = await buyer(1_000_000_000n, { name: "over" });
    const from = new Date(Date.now() - 60_000);
    const r = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${b.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: overSlug, messages: [{ role: "user", content: "count" }], max_tokens: 10, n: 2 }),
    });
    expect(r.status).toBe(200);
    const requestId = r.headers.get("x-request-id")!;
    expect(((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(20);
    await drained();
    const report = (await runReconciliation(backend.t.db, { from, to: new Date(Date.now() + 60_000) })).find((x) => x.key === "anomalies")!;
    // Listed for review; the books agree (the clamped usage is what was billed), so it does not hold a month open.
    expect(report.status).toBe("pass");
    const row = report.differences.find((d) => d.ref === requestId)!;
    expect(row.detail).toContain(`listing ${overId}`);
    expect(row.detail).toContain("reported 12/20000/0");
    expect(row.detail).toContain("billed");
    expect(row.actualNano).toBe((await getBalance(backend.t.db, { accountId: b.account.id })).debitsPosted);
  });
});

describe("worst-case holds under a burst, against the real backend", () => {
  it("a key with a $0.05 limit never spends past it (n > 1, tools and image parts)", async () => {
    const b = await buyer(1_000_000_000n, { name: "five cents", spendLimitUsd: "0.05", limitPeriod: "lifetime" });
    const statuses = await burst(b.secret);
    await drained();
    const served = statuses.filter((s) => s === 200).length;
    expect(served).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 402 || s === 403)).toBe(true);
    // The organisation has only this key: what its credits account was debited is what the key spent.
    const spentNano = (await getBalance(backend.t.db, { accountId: b.account.id })).debitsPosted;
    console.log(`$0.05 key: ${served} of 40 served, spent ${spentNano} nano-USD`);
    expect(spentNano).toBeGreaterThan(0n);
    expect(spentNano).toBeLessThanOrEqual(50_000_000n);
    // The holds covered what the upstream honestly reported: nothing had to be clamped.
    expect(await (await fetch(`${proxy.url}/metrics`)).text()).not.toContain(`gateway_usage_anomalies_total{listing="${model}"}`);
  });

  it("a buyer with $0.03 of credit never goes below zero", async () => {
    const b = await buyer(30_000_000n, { name: "no limit" });
    const statuses = await burst(b.secret);
    await drained();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    const account = await getBalance(backend.t.db, { accountId: b.account.id });
    expect(account.debitsPosted).toBeGreaterThan(0n);
    expect(account.debitsPosted).toBeLessThanOrEqual(30_000_000n);
    expect(account.creditsPosted - account.debitsPosted).toBeGreaterThanOrEqual(0n);
  });
});
