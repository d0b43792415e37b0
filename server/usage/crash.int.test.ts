import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AppRouter } from "../api/root";
import { uuidv7 } from "../lib/ids";
import { splitFee, usageCostNano } from "../ledger/money";
import { checkInvariants } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import type { UsageEvent } from "./contract";
import { reserve } from "./reservations";
import { accountSums, makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldBuyer, type WorldListing } from "./testing";

// Acceptance 2: the process running settlement (the tRPC API over HTTP, scripts/service-api.ts)
// is killed with SIGKILL at random moments 20 times while two reporters keep sending; each
// reporter resends a batch until it gets an answer. Afterwards every event is settled exactly
// once and the ledger holds exactly the totals of a run without crashes (computed independently).

const KILLS = 20;
const EVENTS = 6000;
const TOKEN = "crash-test-service-token-0123456789abcdef";
const DAY = 24 * 3600 * 1000;

let t: TestDb;
let child: ChildProcess | null = null;
let url = "";
let ready: Promise<void> = Promise.resolve();

function startServer(): Promise<void> {
  // Node itself with tsx's loader (not the tsx CLI, which would run the server as a grandchild the kill misses).
  const c = spawn(process.execPath, ["--import", "tsx", "scripts/service-api.ts", t.url, "0", TOKEN], { stdio: ["ignore", "pipe", "inherit"] });
  child = c;
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: c.stdout! }).once("line", (line) => {
      url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/api/trpc`;
      resolve();
    });
    c.once("exit", (code, signal) => reject(new Error(`service API exited before listening (${signal ?? code})`)));
  });
}

function client() {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url, transformer: superjson, headers: { authorization: `Bearer ${TOKEN}` } })] });
}

beforeAll(async () => {
  t = await createTestDb(4);
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await t.close();
});

it(`settlement survives ${KILLS} SIGKILLs while reports flow: every event once, totals as without crashes`, async () => {
  const now = Date.now();
  const providers = [await makeProvider(t.db, "crash-a"), await makeProvider(t.db, "crash-b")];
  const listings: WorldListing[] = [];
  for (let i = 0; i < 4; i++) {
    listings.push(
      await makeListing(t.db, providers[i % 2]!, [
        { effectiveFrom: new Date(now - 20 * DAY), inputPer1kNano: BigInt(100_000 + i), outputPer1kNano: BigInt(300_000 + i), cachedInputPer1kNano: 50_000n },
        { effectiveFrom: new Date(now - 5 * DAY - i * 3600_000), inputPer1kNano: BigInt(120_000 + i), outputPer1kNano: BigInt(310_000 + i), cachedInputPer1kNano: 40_000n },
      ]),
    );
  }
  const buyers: WorldBuyer[] = [];
  for (let i = 0; i < 6; i++) buyers.push(await makeBuyer(t.db, { creditNano: i < 3 ? 1_000_000_000_000n : 2_000_000_000n, keys: 2 }));
  const keys = buyers.flatMap((b) => b.keyIds.map((keyId) => ({ keyId, buyer: b })));
  const reservationOf = new Map<string, string>();
  for (const k of keys) reservationOf.set(k.keyId, (await reserve(t.db, { id: uuidv7(), keyId: k.keyId, amountNano: 1_000_000_000n, ttlSeconds: 3600 })).id);

  const expected: { event: UsageEvent; buyer: WorldBuyer; listing: WorldListing; costNano: bigint; feeNano: bigint }[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const k = keys[Math.floor(Math.random() * keys.length)]!;
    const listing = listings[Math.floor(Math.random() * listings.length)]!;
    const startedAt = new Date(now - 60_000 - Math.floor(Math.random() * 10 * DAY));
    const event = makeEvent({
      keyId: k.keyId,
      listingId: listing.id,
      reservationId: Math.random() < 0.5 ? reservationOf.get(k.keyId)! : null,
      inputTokens: Math.floor(Math.random() * 5000),
      outputTokens: Math.floor(Math.random() * 2000),
      startedAt,
    });
    const costNano = usageCostNano({ input: event.inputTokens, output: event.outputTokens, cachedInput: 0 }, priceInForce(listing, startedAt)!);
    expected.push({ event, buyer: k.buyer, listing, costNano, feeNano: splitFee(costNano, 500).feeNano });
  }
  const sends: UsageEvent[] = [...expected.map((x) => x.event)];
  for (let i = 0; i < EVENTS / 4; i++) sends.push(expected[Math.floor(Math.random() * EVENTS)]!.event);
  sends.sort(() => Math.random() - 0.5);
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < sends.length; ) {
    const size = 50 + Math.floor(Math.random() * 300);
    batches.push(sends.slice(i, i + size));
    i += size;
  }

  ready = startServer();
  await ready;
  let killsDone = false;
  let failures = 0;
  const settled = new Map<string, number>();

  /** Sends one batch until some server answers it (a crash loses the answer, never the outcome). */
  async function send(batch: UsageEvent[]) {
    for (;;) {
      try {
        await ready;
        const { results } = await client().usage.report.mutate({ events: batch });
        for (const r of results) if (r.status === "settled") settled.set(r.id, (settled.get(r.id) ?? 0) + 1);
        expect(results.every((r) => r.status === "settled" || r.status === "duplicate")).toBe(true);
        return;
      } catch (err) {
        if ((err as Error).name === "AssertionError") throw err;
        failures++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  let next = 0;
  async function reporter() {
    while (next < batches.length) await send(batches[next++]!);
    // Keep traffic flowing (resends of earlier batches) until the last kill.
    while (!killsDone) await send(batches[Math.floor(Math.random() * batches.length)]!);
  }
  async function killer() {
    for (let k = 0; k < KILLS; k++) {
      await ready;
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 900));
      const victim = child!;
      const gone = new Promise((r) => victim.once("exit", r));
      victim.kill("SIGKILL");
      await gone;
      ready = startServer();
    }
    await ready;
    killsDone = true;
  }
  await Promise.all([reporter(), reporter(), killer()]);
  expect(failures).toBeGreaterThan(0);

  // Anything a killed server settled was answered to nobody: a final resend of everything finds it.
  for (let i = 0; i < expected.length; i += 2000) await send(expected.slice(i, i + 2000).map((x) => x.event));
  const { rows } = await t.pool.query<{ id: string; n: number; cost_nano: bigint }>("select id, count(*)::int as n, min(cost_nano) as cost_nano from usage_events group by id");
  expect(rows).toHaveLength(EVENTS);
  const byId = new Map(expected.map((x) => [x.event.id, x]));
  expect(rows.filter((r) => r.n !== 1 || r.cost_nano !== byId.get(r.id)!.costNano)).toEqual([]);
  expect([...settled.values()].every((n) => n === 1)).toBe(true);

  const sum = (xs: typeof expected, f: (x: (typeof expected)[number]) => bigint) => xs.reduce((s, x) => s + f(x), 0n);
  for (const b of buyers) {
    const acc = await accountSums(t.db, b.orgId);
    expect(acc.get("buyer_credits")!.debits_posted + acc.get("buyer_receivable")!.debits_posted).toBe(sum(expected.filter((x) => x.buyer === b), (x) => x.costNano));
  }
  for (const p of providers) {
    expect((await accountSums(t.db, p.id)).get("provider_payable")!.credits_posted).toBe(sum(expected.filter((x) => x.listing.providerOrgId === p.id), (x) => x.costNano - x.feeNano));
  }
  expect((await accountSums(t.db, null)).get("platform_revenue")!.credits_posted).toBe(sum(expected, (x) => x.feeNano));
  const unbalanced = await t.pool.query(`
    select s.id from usage_settlements s
    where s.cost_nano <> coalesce((select sum(cost_nano) from usage_events e where e.settlement_id = s.id), -1)
       or s.cost_nano <> coalesce((select sum(amount_nano) from ledger_transfers t where t.ref_kind = 'usage_settlement' and t.ref_id = s.id::text), 0)`);
  expect(unbalanced.rows).toEqual([]);
  expect(await checkInvariants(t.db)).toEqual([]);
}, 600_000);
