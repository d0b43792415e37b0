import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AppRouter } from "../api/root";
import { uuidv7 } from "../lib/ids";
import { splitFee, usageCostNano } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import type { UsageEvent } from "./contract";
import { startSettler, untilSettled, type SettlerChild } from "./crash-world";
import { reserve } from "./reservations";
import { expectEverythingSettledOnce, type ExpectedEvent } from "./settlement-proof";
import { makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldBuyer, type WorldListing } from "./testing";

// Settlement's acceptance 2 in two stages: the process answering reports (the tRPC API over HTTP,
// scripts/service-api.ts windowed, which acknowledges once stage 1 commits) is killed with
// SIGKILL at random moments 12 times while two reporters keep sending, each resending a batch
// until it gets an answer; meanwhile the settler's process (scripts/settler.ts) is SIGKILLed at
// random moments too. Afterwards every event is settled exactly once and the ledger holds
// exactly the totals of a run without crashes (computed independently).

const KILLS = 12;
const EVENTS = 4000;
const TOKEN = "crash-test-service-token-0123456789abcdef";
const DAY = 24 * 3600 * 1000;

let t: TestDb;
let child: ChildProcess | null = null;
let settler: SettlerChild | null = null;
let url = "";
let ready: Promise<void> = Promise.resolve();

function startServer(): Promise<void> {
  // Node itself with tsx's loader (not the tsx CLI, which would run the server as a grandchild the kill misses).
  const c = spawn(process.execPath, ["--import", "tsx", "scripts/service-api.ts", t.url, "0", TOKEN, "windowed"], { stdio: ["ignore", "pipe", "inherit"] });
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
  settler?.process.kill("SIGKILL");
  await t.close();
});

it(`settlement survives ${KILLS} SIGKILLs of the API and more of the settler while reports flow: every event once, totals as without crashes`, async () => {
  const now = Date.now();
  const providers = [await makeProvider(t.db, "crash-a"), await makeProvider(t.db, "crash-b")];
  const listings: WorldListing[] = [];
  for (let i = 0; i < 4; i++) {
    listings.push(
      await makeListing(t.db, providers[i % 2]!, [
        { effectiveFrom: new Date(now - 20 * DAY), inputPer1kNano: BigInt(100_000 + i), outputPer1kNano: BigInt(300_000 + i), cachedInputPer1kNano: 50_000n },
        {
          effectiveFrom: new Date(now - 5 * DAY - i * 3600_000),
          inputPer1kNano: BigInt(120_000 + i),
          outputPer1kNano: BigInt(310_000 + i),
          cachedInputPer1kNano: 40_000n,
        },
      ]),
    );
  }
  const buyers: WorldBuyer[] = [];
  for (let i = 0; i < 6; i++) buyers.push(await makeBuyer(t.db, { creditNano: i < 3 ? 1_000_000_000_000n : 2_000_000_000n, keys: 2 }));
  const keys = buyers.flatMap((b) => b.keyIds.map((keyId) => ({ keyId, buyer: b })));
  const reservationOf = new Map<string, string>();
  for (const k of keys) reservationOf.set(k.keyId, (await reserve(t.db, { id: uuidv7(), keyId: k.keyId, amountNano: 1_000_000_000n, ttlSeconds: 3600 })).id);

  const expected: (ExpectedEvent & { event: UsageEvent })[] = [];
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
    expected.push({ id: event.id, event, buyerOrgId: k.buyer.orgId, providerOrgId: listing.providerOrgId, costNano, feeNano: splitFee(costNano, 500).feeNano });
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
  settler = startSettler(t.url);
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
  let settlerKills = 0;
  async function settlerKiller() {
    while (!killsDone) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1500));
      const victim = settler!;
      victim.process.kill("SIGKILL");
      await victim.exited;
      settlerKills++;
      settler = startSettler(t.url);
      await settler.ready;
    }
  }
  await Promise.all([reporter(), reporter(), killer(), settlerKiller()]);
  expect(failures).toBeGreaterThan(0);
  expect(settlerKills).toBeGreaterThan(0);

  // Anything a killed server settled was answered to nobody: a final resend of everything finds it.
  for (let i = 0; i < expected.length; i += 2000) await send(expected.slice(i, i + 2000).map((x) => x.event));
  expect([...settled.values()].every((n) => n === 1)).toBe(true);
  await untilSettled(t.pool);
  await expectEverythingSettledOnce(t.db, t.pool, expected);
}, 600_000);
