import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listingPrices, listings } from "../../db/schema";
import { seedDemo } from "../../db/seed";
import { drained, spawnGateway, type GatewayProcess } from "../gateway/spawn";
import { catalogEncryptionKey, keyPepper } from "../env";
import { createKey } from "../keys/service";
import { ensureAccount } from "../ledger/service";
import { divRoundHalfEven } from "../ledger/money";
import { topUp } from "../ledger/testing";
import { uuidv7 } from "../lib/ids";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { refreshListingEconomy } from "./summary";
import { callerFor, makeOrg, makeUser } from "../testing/fixtures";

/**
 * Issue #21, acceptance 2 (CPUT): a listing whose upstream fails one request in four, served through
 * the proxy process to the real backend (settlement, rollups), costs more per useful token than its
 * nominal price by exactly what the failed requests were billed, per useful token.
 */

let backend: TestBackend;
let gateway: GatewayProcess;
let upstream: http.Server;
let spool: string;
const SLUG = "demo-provider/flaky-8b";
/** $0.60 per 1M output tokens, input free: a useful request costs exactly its output tokens × 600 nano. */
const OUTPUT_PER_1K = 600_000n;

/** Streams "one two three four five" (5 tokens, finish "stop", usage) — except every 4th request, cut after two words. */
function startFlakyUpstream(): Promise<http.Server> {
  let served = 0;
  const server = http.createServer(async (req, res) => {
    for await (const _ of req);
    served += 1;
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "flaky", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    for (const w of ["one", " two"]) res.write(chunk({ content: w }));
    if (served % 4 === 0) return void setTimeout(() => res.socket?.destroy(), 10);
    for (const w of [" three", " four", " five"]) res.write(chunk({ content: w }));
    res.write(chunk({}, "stop"));
    res.write(
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "flaky", choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })}\n\n`,
    );
    res.end("data: [DONE]\n\n");
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

beforeAll(async () => {
  upstream = await startFlakyUpstream();
  backend = await startTestBackend();
  const db = backend.t.db;
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  await seedDemo(db, { upstreamUrl, encryptionKey: catalogEncryptionKey() });
  const [base] = await db.select().from(listings).limit(1);
  const id = uuidv7();
  await db.insert(listings).values({
    ...base!,
    id,
    slug: SLUG,
    modelSlug: "flaky-8b",
    family: "flaky-8b",
    modalities: ["chat"],
    upstreamBaseUrl: upstreamUrl,
    upstreamCredentialEnc: null,
    upstreamCredentialLast4: null,
    status: "published",
  });
  await db
    .insert(listingPrices)
    .values({ listingId: id, effectiveFrom: new Date(Date.now() - 60_000), inputPer1kNano: 0n, outputPer1kNano: OUTPUT_PER_1K, cachedInputPer1kNano: 0n });
  spool = fs.mkdtempSync(path.join(os.tmpdir(), "gw-cput-"));
  gateway = await spawnGateway({
    GATEWAY_BACKEND_URL: backend.url,
    SERVICE_TOKEN: backend.serviceToken,
    GATEWAY_SPOOL_DIR: spool,
    UPSTREAM_ALLOW_PRIVATE: new URL(upstreamUrl).host,
  });
});

afterAll(async () => {
  await gateway?.stop("SIGKILL");
  await backend?.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
  if (spool) fs.rmSync(spool, { recursive: true, force: true });
});

describe("cost per useful token through the proxy", () => {
  it("one request in four cut off: CPUT = nominal price + the failed requests' billed cost per useful token", async () => {
    const db = backend.t.db;
    const owner = await makeUser(db, "buyer");
    const org = await makeOrg(db, owner);
    const credits = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
    const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
    await topUp(db, credits, clearing, 10_000_000_000n);
    const key = await createKey(db, { name: "cput", pepper: keyPepper(), orgId: org.id, userId: owner.id });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key.secret, maxRetries: 0 });

    let failures = 0;
    for (let i = 0; i < 24; i++) {
      try {
        const stream = await client.chat.completions.create({ model: SLUG, messages: [{ role: "user", content: "Count" }], max_tokens: 20, stream: true });
        for await (const _ of stream);
      } catch {
        failures += 1;
      }
    }
    expect(failures).toBe(6);
    await drained(gateway);

    // The same figures, from raw events: what was billed for failed requests, and the useful output.
    const { rows } = await db.execute<{ events: number; failed: number; failed_cost: string; useful: string; useful_cost: string }>(sql`
      select count(*)::int as events, count(*) filter (where status <> 'ok')::int as failed,
             coalesce(sum(cost_nano) filter (where status <> 'ok'), 0)::text as failed_cost,
             coalesce(sum(output_tokens) filter (where status = 'ok' and finish_reason is distinct from 'length'), 0)::text as useful,
             coalesce(sum(cost_nano) filter (where status = 'ok'), 0)::text as useful_cost
      from usage_events where listing_id = (select id from listings where slug = ${SLUG})`);
    const raw = rows[0]!;
    expect(raw).toMatchObject({ events: 24, failed: 6, useful: String(18 * 5) });
    const failedCost = BigInt(raw.failed_cost);
    const useful = BigInt(raw.useful);
    expect(failedCost).toBeGreaterThan(0n); // cut-off streams are billed for what they delivered
    expect(BigInt(raw.useful_cost)).toBe((useful * OUTPUT_PER_1K) / 1000n);

    // The pages read the summary the worker rebuilds (server/economy/summary.ts): rebuild it as the worker would.
    await refreshListingEconomy(db);
    const page = await callerFor(db, null).catalog.listing({ slug: SLUG, window: "24h" });
    const nominal = OUTPUT_PER_1K * 1000n;
    expect(page.economy.nominalPer1MNano).toBe(nominal);
    const cput = page.economy.cput;
    if (cput.state !== "measured") throw new Error(`CPUT not measured: ${JSON.stringify(cput)}`);
    expect(cput.requests).toBe(24);
    expect(cput.usefulOutputTokens).toBe(useful);
    expect(cput.per1MNano - nominal).toBe(divRoundHalfEven(failedCost * 1_000_000n, useful));
    expect(cput.wastedPer1MNano).toBe(divRoundHalfEven(failedCost * 1_000_000n, useful));
    expect(cput.failedShare).toBeCloseTo(Number(failedCost) / Number(failedCost + BigInt(raw.useful_cost)), 5);

    // The marketplace sorts by it and carries the same figure.
    const market = await callerFor(db, null).catalog.marketplace({ sort: "cput", window: "24h", family: "flaky-8b" });
    expect(market.items[0]?.economy?.cput).toEqual(cput);
  });
});
