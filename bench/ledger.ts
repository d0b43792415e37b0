// npm run bench:ledger [-- --seconds=5]
// Ledger write throughput beside a plain-INSERT baseline measured in the same run, on a
// fresh embedded PostgreSQL: single transfers from 16 concurrent clients, and batched
// postings of 1 000 transfers per transaction between uniformly random accounts (the
// issue's workloads). Three more batched rows explain the ratio: settlement-shaped postings
// (many buyers paying a few hot accounts); a baseline table keyed by the transfer id; and
// the postings after dropping every secondary index and trigger of ledger_transfers (what
// the primary key and the balance updates alone cost). Appends the results to bench/RESULTS.md.
import { sql } from "drizzle-orm";
import { createDb, createPool, type Db } from "../db/client";
import { migrateDb } from "../db/migrate";
import { startPgChild } from "../scripts/lib/pg-child";
import { uuidv7 } from "../server/lib/ids";
import { pgArray } from "../server/lib/pg-array";
import type { TransferInput } from "../server/ledger/posting";
import { checkInvariants, ensureAccount, postTransfers, postTransfersBatch } from "../server/ledger/service";
import { appendResult, machine } from "./timing";

const seconds = Number(process.argv.find((a) => a.startsWith("--seconds="))?.split("=")[1] ?? 5);
const CLIENTS = 16;
const BATCH = 1000;
const ACCOUNTS = 1000;
const ROUNDS = 3;
const HOT = 11;
type Write = (rows: TransferInput[]) => Promise<void>;

// Time-ordered ids (UUIDv7 layout: this run's millisecond prefix, then a counter) made in
// ~0.2 µs rather than uuidv7()'s ~4 µs of randomBytes, so id generation is not what is measured.
const idPrefix = uuidv7().slice(0, 19);
let idSeq = 0;
const benchId = () => {
  const n = (idSeq++).toString(16).padStart(15, "0");
  return `${idPrefix}8${n.slice(0, 3)}-${n.slice(3)}`;
};

const pg = await startPgChild({ dataDir: ".data/bench-ledger", port: 54361, database: "bench", fresh: true });
const pool = createPool(pg.url, CLIENTS + 2);
const db = createDb(pool);

try {
  await migrateDb(db);
  const accounts = await setUp(db);
  const transfer = (d: number, c: number, ref: TransferInput["ref"]): TransferInput => ({
    id: benchId(),
    debitAccountId: accounts[d]!,
    creditAccountId: accounts[c]!,
    amountNano: BigInt(1 + Math.floor(Math.random() * 1000)),
    code: "usage",
    ref,
  });
  /** Any account to any other, uniformly: ~880 distinct accounts move per 1 000 transfers. */
  const uniform = () => {
    const d = Math.floor(Math.random() * ACCOUNTS);
    return transfer(d, (d + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS, { kind: "bench", id: "1" });
  };
  /** As settlement posts: a random buyer pays one of 10 providers or the platform (11 hot accounts), under a usage reference. */
  const settlementShaped = () => {
    const d = HOT + Math.floor(Math.random() * (ACCOUNTS - HOT));
    return transfer(d, Math.floor(Math.random() * HOT), { kind: "usage_settlement", id: benchId() });
  };

  console.log(`ledger bench: ${seconds}s per measurement in ${ROUNDS} interleaved rounds, ${ACCOUNTS} accounts\n`);
  const ledgerSingle = (rows: TransferInput[]) => db.transaction((tx) => postTransfers(tx, { transfers: rows })).then(() => {});
  const ledgerBatch = (rows: TransferInput[]) => db.transaction((tx) => postTransfersBatch(tx, { transfers: rows })).then(() => {});
  const baseline = (rows: TransferInput[]) => plainInsert(db, rows);
  const [singleBase, singleLedger] = await compare("single", CLIENTS, 1, uniform, baseline, ledgerSingle);
  const [batchBase, batchLedger] = await compare("batched", 1, BATCH, uniform, baseline, ledgerBatch);
  const [shapedBase, shapedLedger] = await compare("batched, settlement-shaped", 1, BATCH, settlementShaped, baseline, ledgerBatch);
  const [keyedBase, keyedLedger] = await compare("batched, keyed baseline", 1, BATCH, uniform, (rows) => plainInsert(db, rows, "bench_keyed"), ledgerBatch);
  const violations = await checkInvariants(db);
  console.log(`\ninvariant check after the run: ${violations.length ? `${violations.length} VIOLATIONS` : "clean"}`);

  await db.execute(
    sql.raw(`drop index ledger_transfers_debit_account, ledger_transfers_credit_account, ledger_transfers_created, ledger_transfers_ref,
    ledger_transfers_one_resolution; drop trigger ledger_transfers_closed_period on ledger_transfers`),
  );
  const [floorBase, floorLedger] = await compare("batched, primary key only", 1, BATCH, uniform, baseline, ledgerBatch);

  const results = [
    { workload: `single transfers, ${CLIENTS} clients, 1 per transaction`, ledger: singleLedger, baseline: singleBase },
    { workload: `batched postings, 1 client, ${BATCH} per transaction`, ledger: batchLedger, baseline: batchBase },
    { workload: `(diagnostic) batched, settlement-shaped: ${ACCOUNTS - HOT} buyers → ${HOT} hot accounts`, ledger: shapedLedger, baseline: shapedBase },
    { workload: "(diagnostic) batched, baseline table keyed by the transfer id", ledger: keyedLedger, baseline: keyedBase },
    { workload: "(diagnostic) batched, no secondary index or trigger on ledger_transfers", ledger: floorLedger, baseline: floorBase },
  ];
  const batchRatio = batchLedger / batchBase;
  console.log(`\nbatched postings reach ${(batchRatio * 100).toFixed(0)}% of the baseline (target ≥ 50%): ${batchRatio >= 0.5 ? "met" : "NOT MET"}`);
  record(results, violations.length);

  /**
   * Baseline and ledger alternate in rounds, so load from other processes on a shared
   * machine falls on both alike; each round starts with a warm-up write (plans, caches).
   */
  async function compare(label: string, clients: number, perTx: number, make: () => TransferInput, baseline: Write, ledger: Write): Promise<[number, number]> {
    const randomRows = (n: number) => Array.from({ length: n }, make);
    const totals = { baseline: { rows: 0, ms: 0 }, ledger: { rows: 0, ms: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, write] of [
        ["baseline", baseline],
        ["ledger", ledger],
      ] as const) {
        await write(randomRows(perTx));
        let rows = 0;
        const end = Date.now() + (seconds * 1000) / ROUNDS;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (Date.now() < end) {
              await write(randomRows(perTx));
              rows += perTx;
            }
          }),
        );
        totals[name].rows += rows;
        totals[name].ms += performance.now() - started;
      }
    }
    const rate = (x: { rows: number; ms: number }) => x.rows / (x.ms / 1000);
    const [b, l] = [rate(totals.baseline), rate(totals.ledger)];
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(9);
    console.log(`${label.padEnd(28)} baseline ${fmt(b)} rows/s   ledger ${fmt(l)} transfers/s   ratio ${((l / b) * 100).toFixed(0)}%`);
    return [b, l];
  }
} finally {
  await pool.end();
  await pg.stop();
}

/** 1 000 buyer accounts, each funded, and the unconstrained baseline table. */
async function setUp(db: Db): Promise<string[]> {
  await db.execute(
    sql`insert into organizations (id, name, slug) select gen_random_uuid(), 'bench ' || g, 'bench-' || g from generate_series(1, ${ACCOUNTS}) g`,
  );
  const orgs = (await db.execute(sql`select id from organizations order by id`)).rows as { id: string }[];
  // Unlimited buyer accounts, as the workloads have always measured them.
  const [clearing, buyers] = await db.transaction(async (tx) => {
    const made = [];
    for (const o of orgs) made.push((await ensureAccount(tx, { orgId: o.id, kind: "buyer_credits", debitsMustNotExceedCredits: false })).id);
    return [(await ensureAccount(tx, { orgId: null, kind: "payments_clearing" })).id, made.sort()] as const;
  });
  await db.transaction((tx) =>
    postTransfersBatch(tx, {
      transfers: buyers.map((id) => ({
        id: uuidv7(),
        debitAccountId: clearing,
        creditAccountId: id,
        amountNano: 1_000_000_000_000_000n,
        code: "topup" as const,
      })),
    }),
  );
  await db.execute(
    sql.raw(`create table bench_plain (id uuid, debit_account_id uuid, credit_account_id uuid, amount_nano bigint, type text,
    pending_id uuid, expires_at timestamptz, code text, ref_kind text, ref_id text, created_at timestamptz default now())`),
  );
  await db.execute(sql.raw(`create table bench_keyed (like bench_plain including defaults, primary key (id))`));
  return buyers;
}

/**
 * The baseline: the same rows, one INSERT … SELECT FROM unnest per transaction, into a table with no keys, indexes or
 * checks (`bench_plain`); or, for the diagnostic row, into the same table with the transfer id as its primary key.
 */
function plainInsert(db: Db, rows: TransferInput[], table: "bench_plain" | "bench_keyed" = "bench_plain"): Promise<void> {
  const col = (f: (t: TransferInput) => string | bigint | null) => pgArray(rows.map(f));
  return db.transaction(async (tx) => {
    await tx.execute(sql`insert into ${sql.identifier(table)} (id, debit_account_id, credit_account_id, amount_nano, type, code, ref_kind, ref_id)
      select * from unnest(${col((t) => t.id)}::uuid[], ${col((t) => t.debitAccountId)}::uuid[], ${col((t) => t.creditAccountId)}::uuid[],
        ${col((t) => t.amountNano)}::int8[], ${col(() => "single")}::text[], ${col((t) => t.code)}::text[],
        ${col((t) => t.ref?.kind ?? null)}::text[], ${col((t) => t.ref?.id ?? null)}::text[])`);
  });
}

function record(results: { workload: string; ledger: number; baseline: number }[], violations: number) {
  const lines = [
    `## Ledger, ${new Date().toISOString()}`,
    "",
    `Machine: ${machine("embedded PostgreSQL 18")}. ${seconds} s per measurement. Invariant check after the run: ${violations ? `${violations} violations` : "clean"}.`,
    "",
    "| workload | ledger transfers/s | baseline rows/s | ledger / baseline |",
    "| --- | ---: | ---: | ---: |",
    ...results.map((r) => `| ${r.workload} | ${Math.round(r.ledger)} | ${Math.round(r.baseline)} | ${((r.ledger / r.baseline) * 100).toFixed(0)}% |`),
    "",
    `Target (issue 3): batched postings at least 50% of the baseline: ${results[1]!.ledger / results[1]!.baseline >= 0.5 ? "met" : "NOT MET"}.`,
    "",
  ];
  appendResult(lines.join("\n"));
}
