// `npm run bench:fleet`: usage settled end to end through the fleet's path (two proxies' reporters,
// spools and publishers → NATS JetStream → two settler processes → PostgreSQL) against the
// single-machine HTTP path (two proxies' reporters and spools → the lean ingest endpoint, windowed
// → the worker's settler), on the same kind of load in one run, one database. Each path gets its
// own fresh events (plus 20 % resends), all recorded into the reporters at once as a burst, and is
// timed from the first record to the last event in a committed window. Measured: settled events/s,
// the oldest-unsettled lag sampled every 200 ms (p50/p99), and the reporting CPU per event in the
// proxy's process (this process: spool, reporter, HTTP client or NATS publisher). Target (#20): the
// fleet path settles at least as many events/s as the HTTP path. Appended to bench/RESULTS.md.
//   BENCH_EVENTS (default 40 000) per path; BENCH_WINDOW_MS (default 1000) settlement window; BENCH_SHARDS (default 4) bus shards.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { sql } from "drizzle-orm";
import { createDb, createPool } from "../db/client";
import { migrateDb } from "../db/migrate";
import { startPgChild } from "../scripts/lib/pg-child";
import { usageBusLag } from "../server/fleet/bus-lag";
import type { BusConfig } from "../server/fleet/bus-rules";
import { openNatsLink } from "../server/fleet/nats";
import { startNatsServer } from "../server/fleet/nats-server";
import { usagePublisher } from "../server/fleet/usage-bus";
import { trpcBackend } from "../server/gateway/backend";
import { UsageReporter } from "../server/gateway/reporter";
import { freePort } from "../server/gateway/spawn";
import { Spool } from "../server/gateway/spool";
import { uuidv7 } from "../server/lib/ids";
import { ensureAccount } from "../server/ledger/service";
import type { UsageEvent } from "../server/usage/contract";
import { ledgerLagSeconds } from "../server/usage/backlog";
import { makeEvent } from "../server/usage/testing";
import { appendResult, machine, percentile } from "./timing";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const WINDOW_MS = String(process.env.BENCH_WINDOW_MS ?? 1000);
const BUYERS = 200;
const LISTINGS = 20;
const TOKEN = "bench-fleet-service-token-0123456789abcdef-0123";
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const BUS: BusConfig = {
  shards: SHARDS,
  maxAgeMs: 3_600_000,
  maxBytes: 2 * 1024 ** 3,
  replicas: 1,
  duplicateWindowMs: 120_000,
  maxDeliver: 20,
  ackWaitMs: 60_000,
};

const pgChild = await startPgChild({ dataDir: ".data/bench-fleet", port: await freePort(), database: "bench", fresh: true });
const pool = createPool(pgChild.url, 4);
const db = createDb(pool);
const children: ChildProcess[] = [];
/** Sizes of the stage-1 batches the settlers committed (from their stdout). */
const settlerBatches: number[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tm-bench-fleet-"));

function node(args: string[], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (l) => {
      const m = JSON.parse(l) as { batch?: number; window?: string };
      if (m.batch) settlerBatches.push(m.batch);
      resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited (${code})`)));
  });
}

async function seed() {
  await migrateDb(db);
  await db.execute(
    sql`insert into organizations (id, name, slug) select gen_random_uuid(), 'Org ' || i, 'org-' || i from generate_series(1, ${BUYERS + 1}::int) i`,
  );
  await db.execute(sql`
    insert into listings (id, org_id, slug, model_slug, name, family, context_length, modalities, upstream_base_url, upstream_model, status)
    select gen_random_uuid(), (select id from organizations where slug = 'org-1'), 'provider/model-' || i, 'model-' || i, 'Model ' || i, 'family', 8192,
           array['chat']::modality[], 'http://127.0.0.1:9/v1', 'model', 'published'
    from generate_series(1, ${LISTINGS}::int) i`);
  await db.execute(sql`
    insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
    select gen_random_uuid(), id, now() - interval '60 days', 100000, 400000, 50000 from listings`);
  await db.execute(sql`
    insert into api_keys (id, org_id, lineage_id, name, prefix, last4, hash)
    select k.id, k.org_id, k.id, 'bench', 'tm_bench', '0000', md5(k.id::text)
    from (select gen_random_uuid() as id, id as org_id from organizations where slug <> 'org-1') k`);
  const { rows: keys } = await db.execute<{ id: string; org_id: string }>(sql`select id, org_id from api_keys`);
  const { rows: listings } = await db.execute<{ id: string }>(sql`select id from listings`);
  await ensureAccount(db, { orgId: null, kind: "platform_revenue" });
  for (const k of keys) await ensureAccount(db, { orgId: k.org_id, kind: "buyer_credits" });
  return { keyIds: keys.map((k) => k.id), listingIds: listings.map((l) => l.id) };
}

function traffic(world: { keyIds: string[]; listingIds: string[] }): UsageEvent[] {
  const now = Date.now();
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const events: UsageEvent[] = Array.from({ length: EVENTS }, () => {
    const startedAt = new Date(now - 10_000 - Math.floor(Math.random() * 300_000));
    return makeEvent({
      id: uuidv7(startedAt.getTime()),
      keyId: pick(world.keyIds),
      listingId: pick(world.listingIds),
      inputTokens: Math.floor(Math.random() * 4000),
      outputTokens: Math.floor(Math.random() * 1000),
      startedAt,
    });
  });
  // Resends, as a proxy restarted after a crash replays its spool.
  return [...events, ...Array.from({ length: Math.round(EVENTS / 4) }, () => pick(events))];
}

const stored = async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from usage_events`)).rows[0]!.n;
const unsettled = async () => (await db.execute<{ n: number }>(sql`select count(*)::int as n from usage_batches where settled_at is null`)).rows[0]!.n;

type Path = { name: string; sink: () => Pick<UsageReporter, "record" | "pending">; lag: () => Promise<number> };

/** Records `sends` into two proxies' reporters at once and waits until every new event is in a committed window. */
async function run(p: Path, sends: UsageEvent[], before: number) {
  const reporters = [p.sink(), p.sink()];
  const lags: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(reporters.map((r, i) => Promise.all(sends.filter((_, j) => j % 2 === i).map((e) => new Promise<void>((ok) => r.record(e, ok))))));
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      lags.push(await p.lag());
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  while (reporters.some((r) => r.pending > 0)) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpu0);
  const publishedS = (performance.now() - t0) / 1000;
  while ((await stored()) < before + EVENTS || (await unsettled()) > 0) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  lags.sort((a, b) => a - b);
  const q = (f: number) => (lags.length ? percentile(lags, f * 100) : 0);
  return {
    path: p.name,
    eventsPerS: Math.round(EVENTS / seconds),
    seconds: +seconds.toFixed(2),
    acknowledgedS: +publishedS.toFixed(2),
    lagP50: +q(0.5).toFixed(2),
    lagP99: +q(0.99).toFixed(2),
    reportCpuUsPerEvent: Math.round((cpu.user + cpu.system) / sends.length),
  };
}

function reporterOn(sink: ConstructorParameters<typeof UsageReporter>[0]) {
  const { spool } = Spool.open({ dir: fs.mkdtempSync(path.join(tmp, "spool-")), maxBytes: 1024 ** 3 });
  return new UsageReporter(sink, { spool, flushMs: 100, maxBackoffMs: 1_000, log: (l) => console.error(`[reporter] ${l}`) });
}

let exitCode = 1;
try {
  const world = await seed();
  console.error(`[bench] ${EVENTS} events (+25 % resends) per path, two reporters each, windows every ${WINDOW_MS} ms…`);

  // The single-machine path: the lean ingest endpoint (windowed) and the worker's settler.
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const c = spawn(process.execPath, ["--import", "tsx", "scripts/service-api.ts", pgChild.url, "0", TOKEN, "windowed"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(c);
    readline.createInterface({ input: c.stdout! }).once("line", (l) => resolve(`http://127.0.0.1:${(JSON.parse(l) as { port: number }).port}/api/trpc`));
    c.once("exit", (code) => reject(new Error(`service API exited (${code})`)));
  });
  const worker = await node(["scripts/settler.ts", pgChild.url, "--interval-ms", WINDOW_MS]);
  const backend = trpcBackend(apiUrl, TOKEN);
  const http = await run(
    { name: "HTTP (lean ingest + worker settler)", sink: () => reporterOn(backend), lag: async () => ledgerLagSeconds(db) },
    traffic(world),
    await stored(),
  );
  worker.kill("SIGTERM");

  // The fleet path: NATS JetStream and two settler processes.
  const nats = await startNatsServer();
  // The settlers get the publishers' stream settings: with the defaults they would set the stream to other limits than the proxies do.
  const busEnv = {
    DATABASE_URL: pgChild.url,
    NATS_URL: nats.url,
    USAGE_BUS_SHARDS: String(SHARDS),
    USAGE_BUS_MAX_AGE_HOURS: String(BUS.maxAgeMs / 3_600_000),
    USAGE_BUS_MAX_BYTES: String(BUS.maxBytes),
    USAGE_BUS_REPLICAS: String(BUS.replicas),
    USAGE_BUS_DUPLICATE_WINDOW_SECONDS: String(BUS.duplicateWindowMs / 1000),
    USAGE_BUS_MAX_DELIVER: String(BUS.maxDeliver),
    USAGE_BUS_ACK_WAIT_SECONDS: String(BUS.ackWaitMs / 1000),
    SETTLEMENT_WINDOW_MS: WINDOW_MS,
    DATA_DIR: tmp,
  };
  await Promise.all([node(["server/settler/main.ts"], busEnv), node(["server/settler/main.ts"], busEnv)]);
  const probe = openNatsLink(nats.url);
  const probeNc = await probe.ready();
  const fleet = await run(
    {
      name: "fleet (JetStream + 2 settlers)",
      sink: () => reporterOn(usagePublisher(openNatsLink(nats.url), BUS)),
      lag: async () => {
        const bus = await usageBusLag(probeNc, { shards: SHARDS }).catch(() => []);
        return Math.max(await ledgerLagSeconds(db), ...bus.map((s) => s.oldestAgeSeconds));
      },
    },
    traffic(world),
    await stored(),
  );
  const meanBatch = Math.round(settlerBatches.reduce((a, b) => a + b, 0) / Math.max(1, settlerBatches.length));
  const pass = fleet.eventsPerS >= http.eventsPerS;
  const row = (r: typeof http) => `| ${r.path} | ${r.eventsPerS} | ${r.seconds} | ${r.acknowledgedS} | ${r.lagP50} | ${r.lagP99} | ${r.reportCpuUsPerEvent} |`;
  const report = [
    "",
    `## Fleet usage path (bench:fleet) — ${new Date().toISOString()}`,
    "",
    `Machine: ${machine("embedded PostgreSQL 18, nats-server -js on local disk")}.`,
    `Load: ${EVENTS} events per path (+25 % resends) recorded into two proxies' reporters at once, ${BUYERS} buyers, ${LISTINGS} listings; settlement windows every ${WINDOW_MS} ms; ${SHARDS} bus shards. Timed from the first record to the last event in a committed window.`,
    "",
    "| path | settled events/s | seconds | acknowledged after s | lag p50 s | lag p99 s | reporting CPU µs/event |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    row(http),
    row(fleet),
    "",
    `Settler pulls: ${settlerBatches.length}, ${meanBatch} messages each on average. Lag = the oldest unsettled event's age (the ledger's, and on the fleet path also JetStream's pending per shard), sampled every 200 ms.`,
    `Target: the fleet path settles at least as many events/s as the HTTP path: ${fleet.eventsPerS} vs ${http.eventsPerS} (${pass ? "PASS" : "FAIL"}).`,
  ].join("\n");
  console.log(report);
  appendResult(report);
  exitCode = pass ? 0 : 1;
  await probe.close();
  await nats.dispose();
} finally {
  for (const c of children) c.kill("SIGTERM");
  await pool.end();
  await pgChild.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
