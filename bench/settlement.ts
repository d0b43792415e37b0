// `npm run bench:settlement`: usage events per second from the proxy's report to a committed
// ledger, end to end through both stages of settlement (server/usage/ingest.ts, settler.ts).
// The service API runs in a child process (scripts/service-api.ts, windowed: it answers after
// stage 1) and the worker beside it runs the settlement windows (server/worker/main.ts). Four
// reporters send batches of 1 000 events (20 % of sends duplicates, shuffled) with the proxy's
// own report client (the lean ingest path) for 1 000 buyers on 50 listings of 10 providers;
// every event spends from its key's reservation, some buyers run out of credit, 10 listings
// change price halfway. Baseline in the same run: COPY of the same sends into a bare table.
// Also measured: CPU per event (Node: API + settler; PostgreSQL: every backend), WAL bytes per
// event and the ledger lag (a batch's acknowledgement to its window's commit). Appended to
// bench/RESULTS.md with the acceptance verdict. Knobs: BENCH_EVENTS (300 000), BENCH_PG_PORT (54364).
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { sql } from "drizzle-orm";
import type pg from "pg";
import { createDb, createPool, type Db } from "../db/client";
import { migrateDb } from "../db/migrate";
import { USAGE_PROCESS_FLAGS } from "../scripts/lib/node-flags";
import { startPgChild } from "../scripts/lib/pg-child";
import { trpcBackend, usageEventJson } from "../server/gateway/backend";
import { uuidv7 } from "../server/lib/ids";
import { checkInvariants, ensureAccount, listBalances, postTransfersBatch } from "../server/ledger/service";
import type { UsageEvent } from "../server/usage/contract";
import { reserve } from "../server/usage/reservations";
import { cpuSeconds, parentPid, postgresCpuSeconds } from "./cpu";
import { appendResult, machine } from "./timing";

const BUYERS = 1000;
const PROVIDERS = 10;
const LISTINGS = 50;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);
const BATCH = 1000;
const REPORTERS = 4;
const DUPLICATE_SHARE = 0.2;
/** Buyers whose credit runs out during the run (the rest of their usage is owed). */
const SHORT_BUYERS = 50;
/** Events of the diagnostic pass that measures stage 1 and the windows apart. */
const SPLIT_EVENTS = 60_000;
const TARGET_EVENTS_PER_S = 12_000;
const TARGET_COPY_SHARE = 0.06;
const TARGET_LAG_P95_S = 5;
const TOKEN = "bench-settlement-service-token-0123456789abcdef";

const pgChild = await startPgChild({ dataDir: ".data/bench-settlement", port: Number(process.env.BENCH_PG_PORT ?? 54364), database: "bench", fresh: true });
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
    postTransfersBatch(tx, {
      // $1 000 each, but a few buyers hold $0.05: their usage soon goes past their credit, into what they owe.
      transfers: credits.map((id, i) => ({
        id: uuidv7(),
        debitAccountId: clearing.id,
        creditAccountId: id,
        amountNano: i < SHORT_BUYERS ? 50_000_000n : 1_000_000_000_000n,
        code: "topup" as const,
      })),
    }),
  );
  // Ten listings change price halfway through the events' start times (priced at startedAt: both versions are used).
  await db.execute(sql`
    insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
    select gen_random_uuid(), l.id, now() - interval '160 seconds', 130000, 520000, 60000 from (select id from listings order by id limit 10) l`);
  return { keys: keys.map((k) => ({ keyId: k.id, orgId: k.org_id })), listingIds: listings.map((l) => l.id) };
}

function makeEvents(world: World, n: number, reservationOf?: Map<string, string>): UsageEvent[] {
  const now = Date.now();
  const events: UsageEvent[] = [];
  for (let i = 0; i < n; i++) {
    const key = world.keys[Math.floor(Math.random() * world.keys.length)]!;
    // As a proxy reports: requests of the last few minutes, ids minted when they started.
    const startedAt = new Date(now - 10_000 - Math.floor(Math.random() * 300_000));
    events.push({
      id: uuidv7(startedAt.getTime()),
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

function spawnNode(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  // BENCH_PROFILE=1: a CPU profile of each child in .data/bench-profile/<name>/ (a smoke run, not a result).
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=.data/bench-profile/${name}`] : [];
  // Node itself with tsx's loader, so the pid is the process doing the work.
  // The API and the settler run with the flags the platform gives the web app and the worker.
  const child = spawn(process.execPath, [...USAGE_PROCESS_FLAGS, ...profile, "--import", "tsx", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

function startApi(url: string): Promise<{ url: string; pid: number }> {
  const child = spawnNode("api", ["scripts/service-api.ts", url, "0", TOKEN, "windowed"]);
  return new Promise((resolve, reject) => {
    readline
      .createInterface({ input: child.stdout! })
      .once("line", (line) => resolve({ url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/api/trpc`, pid: child.pid! }));
    child.once("exit", (code) => reject(new Error(`service API exited (${code})`)));
  });
}

function startWorker(url: string): Promise<number> {
  const child = spawnNode("settler", ["server/worker/main.ts"], { DATABASE_URL: url });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once("line", () => resolve(child.pid!));
    child.once("exit", (code) => reject(new Error(`worker exited (${code})`)));
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
        let results: { status: string }[];
        for (;;) {
          try {
            results = await send(batch);
            break;
          } catch (err) {
            // Backpressure (503) or a failure: the proxy keeps the batch and sends it again.
            if (!/answered 503/.test((err as Error).message)) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
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

/** Waits until no batch waits for a window; returns when the last one committed. */
async function settledAll(db: Db): Promise<void> {
  for (;;) {
    const { rows } = await db.execute<{ waiting: number }>(sql`select count(*)::int as waiting from usage_batches where settled_at is null`);
    if (rows[0]!.waiting === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
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
        [
          e.id,
          e.reservationId ?? "\\N",
          e.keyId,
          e.listingId,
          e.inputTokens,
          e.outputTokens,
          e.cachedInputTokens,
          e.startedAt.toISOString(),
          e.firstTokenAt?.toISOString() ?? "\\N",
          e.endedAt.toISOString(),
          e.status,
          e.estimated ? "t" : "f",
          e.upstreamStatus ?? "\\N",
        ].join("\t"),
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

const walLsn = async () => BigInt((await db.execute<{ b: string }>(sql`select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as b`)).rows[0]!.b);

try {
  await migrateDb(db);
  const seedStarted = performance.now();
  const world = await seed(db);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const { rows: pm } = await db.execute<{ pid: number }>(sql`select pid from pg_stat_activity where backend_type = 'checkpointer'`);
  const postmaster = parentPid(pm[0]!.pid);
  const api = await startApi(pgChild.url);
  const workerPid = await startWorker(pgChild.url);
  const backend = trpcBackend(api.url, TOKEN);
  // As the proxy's reporter does: each event's JSON line was journalled when its request ended, and is sent as it is.
  const lineOf = new WeakMap<UsageEvent, string>();
  const journal = (batches: UsageEvent[][]) => {
    for (const b of batches) for (const e of b) if (!lineOf.has(e)) lineOf.set(e, usageEventJson(e));
    return batches;
  };
  const report = async (batch: UsageEvent[]) =>
    (
      await backend.report(
        batch,
        batch.map((e) => lineOf.get(e)!),
      )
    ).results;

  // Every event spends from its key's reservation: the settler voids and re-holds each one per window.
  const reservationOf = new Map<string, string>();
  for (const k of world.keys)
    reservationOf.set(k.keyId, (await reserve(db, { id: uuidv7(), keyId: k.keyId, amountNano: 500_000_000_000n, ttlSeconds: 3600 })).id);

  // Warm-up (caches, JIT, partitions), not measured.
  await run(journal(batchesOf(makeEvents(world, 8000, reservationOf))), report);
  await settledAll(db);

  const main = journal(batchesOf(makeEvents(world, EVENTS, reservationOf)));
  const { rows: firstSeq } = await db.execute<{ seq: string }>(sql`select coalesce(max(seq), 0)::text as seq from usage_batches`);
  console.log(
    `[bench] ${EVENTS} events + duplicates in ${main.length} batches of ${BATCH}, ${REPORTERS} reporters, proxy report client → lean ingest → settler…`,
  );
  const cpu0 = { api: cpuSeconds(api.pid), worker: cpuSeconds(workerPid), pg: postgresCpuSeconds(postmaster), bench: process.cpuUsage() };
  const wal0 = await walLsn();
  const started = performance.now();
  const acked = await run(main, report);
  await settledAll(db);
  const endToEnd = (performance.now() - started) / 1000;
  const wal = Number((await walLsn()) - wal0);
  const benchCpu = process.cpuUsage(cpu0.bench);
  const cpu = {
    api: cpuSeconds(api.pid) - cpu0.api,
    settler: cpuSeconds(workerPid) - cpu0.worker,
    pg: postgresCpuSeconds(postmaster) - cpu0.pg,
    reporters: (benchCpu.user + benchCpu.system) / 1e6,
  };

  const { rows: lastSeq } = await db.execute<{ seq: string }>(sql`select coalesce(max(seq), 0)::text as seq from usage_batches`);
  // Where the time goes, apart: the same traffic acknowledged with the settler stopped (stage 1 alone),
  // then the settler catching up (windows alone, larger than in the run above).
  const worker = children.find((c) => c.pid === workerPid)!;
  worker.kill("SIGSTOP");
  const apart = journal(batchesOf(makeEvents(world, SPLIT_EVENTS, reservationOf)));
  const s0 = { api: cpuSeconds(api.pid), pg: postgresCpuSeconds(postmaster) };
  const stage1 = await run(apart, report);
  const s1 = { api: cpuSeconds(api.pid), pg: postgresCpuSeconds(postmaster), settler: cpuSeconds(workerPid) };
  worker.kill("SIGCONT");
  await settledAll(db);
  const s2 = { pg: postgresCpuSeconds(postmaster), settler: cpuSeconds(workerPid) };
  const apartUs = (seconds: number) => ((seconds * 1e6) / stage1.settled).toFixed(1);

  const { rows: lagRows } = await db.execute<{ p50: number; p95: number; windows: number; batches: number }>(sql`
    select percentile_cont(0.5) within group (order by extract(epoch from settled_at - received_at))::float8 as p50,
           percentile_cont(0.95) within group (order by extract(epoch from settled_at - received_at))::float8 as p95,
           count(distinct window_id)::int as windows, count(*)::int as batches
    from usage_batches where seq > ${firstSeq[0]!.seq}::int8 and seq <= ${lastSeq[0]!.seq}::int8`);
  const lag = lagRows[0]!;
  const copy = await copyBaseline(main);

  // The run is only worth reporting if the books are right: every batch settled once, clearing at zero, invariants clean.
  const violations = await checkInvariants(db);
  const { rows: checks } = await db.execute<{ unsettled: number; events: string; window_events: string }>(sql`
    select (select count(*)::int from usage_batches where settled_at is null) as unsettled,
           (select count(*)::text from usage_events) as events,
           (select sum(events)::text from usage_windows) as window_events`);
  const c = checks[0]!;
  const usageClearing = (await listBalances(db, { orgId: null })).find((a) => a.kind === "usage_clearing");
  const clearingNano = usageClearing ? String(usageClearing.debitsPosted - usageClearing.creditsPosted) : null;
  const healthy = violations.length === 0 && c.unsettled === 0 && clearingNano === "0" && c.events === c.window_events;

  const settledRate = acked.settled / endToEnd;
  const copyRate = copy.rows / copy.seconds;
  const share = settledRate / copyRate;
  const perEvent = (seconds: number) => ((seconds * 1e6) / acked.settled).toFixed(1);
  const pass = { rate: settledRate >= TARGET_EVENTS_PER_S, share: share >= TARGET_COPY_SHARE, lag: lag.p95 <= TARGET_LAG_P95_S };
  const verdict = healthy && pass.rate && pass.share && pass.lag;
  const lines = [
    "",
    `## Settlement: proxy report → committed ledger, two stages — ${new Date().toISOString()}`,
    "",
    `Machine: ${machine("embedded PostgreSQL 18 (durable commits)")}.`,
    `Data: ${BUYERS} buyers (one key and one reservation each, ${SHORT_BUYERS} of them running out of credit), ${PROVIDERS} providers, ${LISTINGS} listings (10 changing price halfway); ${EVENTS} events sent as ${acked.sent} with ${Math.round(DUPLICATE_SHARE * 100)} % duplicates, shuffled, in batches of ${BATCH} by ${REPORTERS} concurrent reporters using the proxy's report client (lean ingest path); the API answers after stage 1, the worker's settler posts windows. Seeded in ${seedSeconds.toFixed(1)} s.`,
    "",
    "| measure | value |",
    "| --- | ---: |",
    `| new events settled end to end (last batch's window committed) | ${acked.settled} in ${endToEnd.toFixed(2)} s = **${Math.round(settledRate)} events/s** |`,
    `| acknowledged (stage 1) | ${Math.round(acked.sent / acked.seconds)} sent events/s; batch p50 / p95 ${acked.p50.toFixed(0)} / ${acked.p95.toFixed(0)} ms |`,
    `| baseline: one COPY of the same sends into a bare table | ${Math.round(copyRate)} rows/s |`,
    `| settled ÷ COPY | **${(share * 100).toFixed(1)} %** |`,
    `| ledger lag (acknowledged → window committed) p50 / p95 | ${lag.p50.toFixed(2)} / **${lag.p95.toFixed(2)} s** over ${lag.batches} batches in ${lag.windows} windows |`,
    `| CPU per settled event: API (Node) / settler (Node) / PostgreSQL / reporters (Node) | ${perEvent(cpu.api)} / ${perEvent(cpu.settler)} / ${perEvent(cpu.pg)} / ${perEvent(cpu.reporters)} µs |`,
    `| WAL per settled event | ${Math.round(wal / acked.settled)} bytes |`,
    `| apart (${SPLIT_EVENTS} more events): stage 1 alone, API / PostgreSQL | ${apartUs(s1.api - s0.api)} / ${apartUs(s1.pg - s0.pg)} µs per new event |`,
    `| apart: the settler catching up, settler / PostgreSQL | ${apartUs(s2.settler - s1.settler)} / ${apartUs(s2.pg - s1.pg)} µs per new event |`,
    `| books after the run | ${healthy ? "clean" : `NOT CLEAN: ${violations.length} invariant violations, ${c.unsettled} unsettled batches, clearing ${clearingNano}, events ${c.events} vs windows ${c.window_events}`} |`,
    "",
    `Acceptance (#18): ≥ ${TARGET_EVENTS_PER_S} settled events/s ${pass.rate ? "PASS" : "FAIL"}; ≥ ${TARGET_COPY_SHARE * 100} % of COPY ${pass.share ? "PASS" : "FAIL"}; ledger lag p95 ≤ ${TARGET_LAG_P95_S} s ${pass.lag ? "PASS" : "FAIL"}; books ${healthy ? "clean" : "NOT clean"}. Verdict: **${verdict ? "PASS" : "FAIL"}**.`,
    `Wall time ${endToEnd.toFixed(2)} s on 2 cores holds ${(cpu.api + cpu.settler + cpu.pg + cpu.reporters).toFixed(1)} CPU-seconds: ${(((cpu.api + cpu.settler + cpu.pg + cpu.reporters) / endToEnd / 2) * 100).toFixed(0)} % of the machine.`,
  ];
  console.log(lines.join("\n"));
  appendResult(lines.join("\n"));
  if (!healthy) process.exitCode = 1;
} finally {
  // Killed outright (a profiled run lets them write their profiles first): an API holding keep-alive
  // connections and its pool would keep the database from stopping.
  const signal = process.env.BENCH_PROFILE ? "SIGINT" : "SIGKILL";
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => (c.once("exit", r), c.kill(signal))) : null)));
  await pool.end();
  await pgChild.stop();
}
