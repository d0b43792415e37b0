// `npm run bench:settlement`: usage events per second from an HTTP report to a committed
// ledger. The tRPC API runs in a child process (scripts/service-api.ts, plain Node HTTP);
// four concurrent reporters send batches of 1 000 events (20 % of them duplicates) for
// 1 000 buyers on 50 listings. Baseline in the same run: COPY of the same events into a
// bare table. Also measured: the same work without HTTP (reportUsage called in-process)
// and with every event spending from a reservation. Appended to bench/RESULTS.md.
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { createTRPCClient, httpLink } from "@trpc/client";
import { sql } from "drizzle-orm";
import type pg from "pg";
import superjson from "superjson";
import { createDb, createPool, type Db } from "../db/client";
import { migrateDb } from "../db/migrate";
import { startPgChild } from "../scripts/lib/pg-child";
import type { AppRouter } from "../server/api/root";
import { uuidv7 } from "../server/lib/ids";
import { ensureAccount, postTransfersBatch } from "../server/ledger/service";
import type { UsageEvent } from "../server/usage/contract";
import { reserve } from "../server/usage/reservations";
import { reportUsage } from "../server/usage/settlement";
import { appendResult, machine } from "./timing";

const BUYERS = 1000;
const PROVIDERS = 10;
const LISTINGS = 50;
const EVENTS = 200_000;
const BATCH = 1000;
const REPORTERS = 4;
const DUPLICATE_SHARE = 0.2;
const TARGET = 40_000;
const TOKEN = "bench-settlement-service-token-0123456789abcdef";

const pgChild = await startPgChild({ dataDir: ".data/bench-settlement", port: 54364, database: "bench", fresh: true });
const pool = createPool(pgChild.url, 4);
const db = createDb(pool);
const children: ChildProcess[] = [];

type World = { keys: { keyId: string; orgId: string }[]; listingIds: string[] };

async function seed(db: Db): Promise<World> {
  await db.execute(sql`
    insert into organizations (id, name, slug)
    select gen_random_uuid(), 'Org ' || i, 'org-' || i from generate_series(1, ${BUYERS + PROVIDERS}::int) i`);
  await db.execute(sql`
    with p as (select id, row_number() over (order by slug) as n from organizations where slug in (select 'org-' || i from generate_series(${BUYERS + 1}::int, ${BUYERS + PROVIDERS}::int) i))
    insert into listings (id, org_id, slug, model_slug, name, family, context_length, modalities, upstream_base_url, upstream_model, status)
    select gen_random_uuid(), p.id, 'provider-' || i || '/model', 'model-' || i, 'Model ' || i, 'family', 8192, array['chat']::modality[],
           'http://127.0.0.1:9/v1', 'model', 'published'
    from generate_series(1, ${LISTINGS}::int) i join p on p.n = 1 + i % ${PROVIDERS}::int`);
  await db.execute(sql`
    insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
    select gen_random_uuid(), l.id, now() - interval '60 days', 100000 + (hashtext(l.slug) & 65535), 400000 + (hashtext(l.slug || 'o') & 65535), 50000
    from listings l`);
  await db.execute(sql`
    insert into api_keys (id, org_id, lineage_id, name, prefix, last4, hash)
    select k.id, k.org_id, k.id, 'bench', 'tm_bench', '0000', md5(k.id::text)
    from (select gen_random_uuid() as id, id as org_id from organizations where slug in (select 'org-' || i from generate_series(1, ${BUYERS}::int) i)) k`);
  const { rows: keys } = await db.execute<{ id: string; org_id: string }>(sql`select id, org_id from api_keys order by id`);
  const { rows: listings } = await db.execute<{ id: string; org_id: string }>(sql`select id, org_id from listings order by id`);
  // Accounts as settlement would create them, and $1 000 of credit for every buyer.
  const clearing = await ensureAccount(db, { orgId: null, kind: "payments_clearing" });
  await ensureAccount(db, { orgId: null, kind: "platform_revenue" });
  await ensureAccount(db, { orgId: null, kind: "usage_holds" });
  for (const l of listings) await ensureAccount(db, { orgId: l.org_id, kind: "provider_payable" });
  const credits: string[] = [];
  for (const k of keys) {
    credits.push((await ensureAccount(db, { orgId: k.org_id, kind: "buyer_credits" })).id);
    await ensureAccount(db, { orgId: k.org_id, kind: "buyer_receivable" });
  }
  await db.transaction((tx) =>
    postTransfersBatch(
      tx,
      credits.map((id) => ({ id: uuidv7(), debitAccountId: clearing.id, creditAccountId: id, amountNano: 1_000_000_000_000n, code: "topup" as const })),
    ),
  );
  return { keys: keys.map((k) => ({ keyId: k.id, orgId: k.org_id })), listingIds: listings.map((l) => l.id) };
}

function makeEvents(world: World, n: number, reservationOf?: Map<string, string>): UsageEvent[] {
  const now = Date.now();
  const events: UsageEvent[] = [];
  for (let i = 0; i < n; i++) {
    const key = world.keys[Math.floor(Math.random() * world.keys.length)]!;
    // As a proxy reports: requests of the last few minutes, ids minted when they ended.
    const startedAt = new Date(now - 10_000 - Math.floor(Math.random() * 300_000));
    events.push({
      id: uuidv7(startedAt.getTime() + 1500),
      reservationId: reservationOf?.get(key.keyId) ?? null,
      keyId: key.keyId,
      listingId: world.listingIds[Math.floor(Math.random() * world.listingIds.length)]!,
      inputTokens: Math.floor(Math.random() * 4000),
      outputTokens: Math.floor(Math.random() * 1000),
      cachedInputTokens: Math.random() < 0.2 ? Math.floor(Math.random() * 2000) : 0,
      startedAt,
      firstTokenAt: new Date(startedAt.getTime() + 200),
      endedAt: new Date(startedAt.getTime() + 1500),
      status: "ok",
      estimated: false,
      upstreamStatus: 200,
    });
  }
  return events;
}

/** The events plus 20 % duplicates (of all sends), shuffled, in batches of 1 000. */
function batchesOf(events: UsageEvent[]): UsageEvent[][] {
  const sends = [...events];
  const copies = Math.round((events.length * DUPLICATE_SHARE) / (1 - DUPLICATE_SHARE));
  for (let i = 0; i < copies; i++) sends.push(events[Math.floor(Math.random() * events.length)]!);
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < sends.length; i += BATCH) batches.push(sends.slice(i, i + BATCH));
  return batches;
}

function startApi(url: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/service-api.ts", url, "0", TOKEN], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once("line", (line) => resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/api/trpc`));
    child.once("exit", (code) => reject(new Error(`service API exited (${code})`)));
  });
}

type RunResult = { sent: number; settled: number; seconds: number; p50: number; p95: number };

async function run(batches: UsageEvent[][], send: (batch: UsageEvent[]) => Promise<{ status: string }[]>): Promise<RunResult> {
  let next = 0;
  let settled = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: REPORTERS }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const t0 = performance.now();
        const results = await send(batch);
        latencies.push(performance.now() - t0);
        if (results.length !== batch.length) throw new Error("a batch was answered with the wrong number of results");
        for (const r of results) {
          if (r.status === "settled") settled++;
          else if (r.status !== "duplicate") throw new Error(`unexpected result ${JSON.stringify(r)}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { sent: batches.reduce((s, b) => s + b.length, 0), settled, seconds, p50: at(0.5), p95: at(0.95) };
}

/** COPY … FROM STDIN through node-postgres's submittable interface (what pg-copy-streams does, minus streaming). */
function copyIn(client: pg.PoolClient, text: string, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let error: unknown = null;
    const submittable = {
      submit: (connection: { query: (t: string) => void }) => connection.query(text),
      handleCopyInResponse: (connection: { sendCopyFromChunk: (b: Buffer) => void; endCopyFrom: () => void }) => {
        for (let i = 0; i < payload.length; i += 1 << 20) connection.sendCopyFromChunk(payload.subarray(i, i + (1 << 20)));
        connection.endCopyFrom();
      },
      handleCommandComplete: () => {},
      handleError: (err: unknown) => (error = err),
      handleReadyForQuery: () => (error ? reject(error) : resolve()),
    };
    (client as unknown as { query: (q: unknown) => void }).query(submittable);
  });
}

async function copyBaseline(batches: UsageEvent[][]): Promise<{ rows: number; seconds: number }> {
  await db.execute(sql`
    create table bench_copy (id uuid, reservation_id uuid, key_id uuid, listing_id uuid, input_tokens int, output_tokens int,
      cached_input_tokens int, started_at timestamptz, first_token_at timestamptz, ended_at timestamptz, status text, estimated bool, upstream_status int2)`);
  const lines: string[] = [];
  for (const b of batches) {
    for (const e of b) {
      lines.push(
        [e.id, e.reservationId ?? "\\N", e.keyId, e.listingId, e.inputTokens, e.outputTokens, e.cachedInputTokens, e.startedAt.toISOString(),
          e.firstTokenAt?.toISOString() ?? "\\N", e.endedAt.toISOString(), e.status, e.estimated ? "t" : "f", e.upstreamStatus ?? "\\N"].join("\t"),
      );
    }
  }
  const payload = Buffer.from(lines.join("\n") + "\n");
  const client = await pool.connect();
  try {
    const started = performance.now();
    await copyIn(client, "copy bench_copy from stdin", payload);
    return { rows: lines.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    client.release();
  }
}

try {
  await migrateDb(db);
  const seedStarted = performance.now();
  const world = await seed(db);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const url = await startApi(pgChild.url);
  const client = createTRPCClient<AppRouter>({ links: [httpLink({ url, transformer: superjson, headers: { authorization: `Bearer ${TOKEN}` } })] });
  const overHttp = async (batch: UsageEvent[]) => (await client.usage.report.mutate({ events: batch })).results;

  // Warm-up (caches, JIT, partitions), not measured.
  await run(batchesOf(makeEvents(world, 8000)), overHttp);

  const main = batchesOf(makeEvents(world, EVENTS));
  console.log(`[bench] ${EVENTS} events + duplicates in ${main.length} batches of ${BATCH}, ${REPORTERS} reporters, over HTTP…`);
  const http = await run(main, overHttp);
  const { rows: counted } = await db.execute<{ n: number }>(sql`select count(*)::int as n from usage_events`);

  const inProcess = await run(batchesOf(makeEvents(world, EVENTS / 2)), (batch) => reportUsage(db, batch, { service: { kind: "platform" }, defaultFeeBps: 500 }));

  // Every event spends from its key's reservation: holds are voided and re-held in the same transaction.
  const reservationOf = new Map<string, string>();
  for (const k of world.keys) reservationOf.set(k.keyId, (await reserve(db, { id: uuidv7(), keyId: k.keyId, amountNano: 500_000_000_000n, ttlSeconds: 3600 })).id);
  const reserved = await run(batchesOf(makeEvents(world, EVENTS / 2, reservationOf)), overHttp);

  const copy = await copyBaseline(main);
  const { rows: transfers } = await db.execute<{ n: number }>(sql`select count(*)::int as n from ledger_transfers`);

  const rate = (r: RunResult) => r.sent / r.seconds;
  const copyRate = copy.rows / copy.seconds;
  const row = (name: string, r: RunResult) =>
    `| ${name} | ${r.sent} | ${r.settled} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r))} | ${Math.round(r.settled / r.seconds)} | ${r.p50.toFixed(0)} / ${r.p95.toFixed(0)} |`;
  const lines = [
    "",
    `## Settlement: usage report → committed ledger — ${new Date().toISOString()}`,
    "",
    `Machine: ${machine("embedded PostgreSQL 18 (durable commits)")}.`,
    `Data: ${BUYERS} buyers (one key each), ${PROVIDERS} providers, ${LISTINGS} listings; batches of ${BATCH}, ${Math.round(DUPLICATE_SHARE * 100)} % of sent events duplicates, shuffled; ${REPORTERS} concurrent reporters. Seeded in ${seedSeconds.toFixed(1)} s.`,
    "",
    "| run | events sent | settled (new) | seconds | sent events/s | settled events/s | batch p50 / p95 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("HTTP (tRPC over plain Node http, API in a child process)", http),
    row("in-process reportUsage (no HTTP)", inProcess),
    row("HTTP, every event spending from a reservation", reserved),
    `| baseline: one COPY of the same events into a bare table | ${copy.rows} | ${copy.rows} | ${copy.seconds.toFixed(2)} | ${Math.round(copyRate)} | | |`,
    "",
    `HTTP settlement runs at ${(rate(http) / copyRate * 100).toFixed(1)} % of COPY (ratio ${(copyRate / rate(http)).toFixed(2)}×). Target ${TARGET} events/s: ${rate(http) >= TARGET ? "PASS" : "NOT MET"}.`,
    `usage_events rows after the HTTP run: ${counted[0]!.n}; ledger transfers at the end: ${transfers[0]!.n}.`,
  ];
  console.log(lines.join("\n"));
  appendResult(lines.join("\n"));
} finally {
  for (const c of children) c.kill("SIGTERM");
  await pool.end();
  await pgChild.stop();
}
