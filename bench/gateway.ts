// `npm run bench:gateway`: requests through nothing (direct), through a bare undici pipe
// (bench/bare-pipe.ts, the floor) and through our proxy (server/gateway/main.ts as its own
// process, as in production), 50 connections, non-streaming and streaming, against the demo
// upstream with no delay. Prints throughput, p50/p99 latency and each proxy's CPU µs per
// request (its process's utime+stime from /proc divided by requests served). The proxy talks
// to an in-memory backend served over tRPC (keys cached, $100 reservation chunks, batched
// reports), so backend calls stay off the hot path as they do in production.
// Then one connection at a time through the pipe and the proxy: the latency the proxy adds
// (p50 over the pipe's) when nothing queues.
// The same request in the Responses API (POST /v1/responses, translated to the upstream's chat) through the proxy too.
// Targets: proxy CPU/request ≤ 1.5× the bare pipe's; added p50 at 1 connection ≤ 0.3 ms; a Responses request's
// proxy CPU ≤ 1.5× a chat request's. Appends to bench/RESULTS.md.
// Knobs: BENCH_SECONDS (per round, 3), BENCH_ROUNDS (5), BENCH_MODES (non-streaming,streaming),
// BENCH_PORT (8870..8872), BENCH_VERBOSE=1 (every round), BENCH_PROFILE=1 (V8 CPU profiles of the
// pipe and the proxy into .data/bench-profile/, written when they exit).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { Pool } from "undici";
import { FakeBackend, fakeListing } from "../server/gateway/fake-backend";
import { serveFakeBackend } from "../server/gateway/fake-backend-server";
import { cpuSeconds } from "./cpu";
import { appendResult, machine } from "./timing";

const CONNECTIONS = 50;
const WARMUP_MS = 1_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 3) * 1000;
// The machine is shared and noisy: each case runs in several interleaved rounds and the median round counts.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET_RATIO = 1.5;
const TARGET_ADDED_P50_MS = 0.3;
const base = Number(process.env.BENCH_PORT ?? 8870);
const ports = { upstream: base, pipe: base + 1, proxy: base + 2 };
const SECRET = "sk-bench-0123456789";
const SERVICE_TOKEN = "bench-service-token-0123456789abcdef0123";

function startChild(name: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const profile = process.env.BENCH_PROFILE && name !== "upstream" ? ["--cpu-prof", `--cpu-prof-dir=.data/bench-profile/${name}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      if (ready.test(line)) resolve(child);
    };
    readline.createInterface({ input: child.stdout! }).on("line", onLine);
    readline.createInterface({ input: child.stderr! }).on("line", (l) => console.error(`[${name}] ${l}`));
    child.once("exit", (code) => reject(new Error(`${name} exited (${code})`)));
  });
}

const chatBody = (stream: boolean, model: string) =>
  JSON.stringify({ model, messages: [{ role: "user", content: "Say something short about tokens." }], max_tokens: 20, stream });

const responsesBody = (stream: boolean, model: string) => JSON.stringify({ model, input: "Say something short about tokens.", max_output_tokens: 20, stream });

type Result = { requests: number; errors: number; seconds: number; p50: number; p99: number; cpuUsPerRequest: number | null };

async function load(
  origin: string,
  body: string,
  headers: Record<string, string>,
  pid: number | null,
  warmupMs = WARMUP_MS,
  connections = CONNECTIONS,
  path = "/v1/chat/completions",
): Promise<Result> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  let measuring = false;
  let stop = false;
  let requests = 0;
  let errors = 0;
  const latencies: number[] = [];
  async function worker() {
    while (!stop) {
      const t0 = performance.now();
      try {
        const r = await pool.request({ path, method: "POST", headers: { "content-type": "application/json", ...headers }, body });
        for await (const _ of r.body) {
          // consume every byte (streams: every event)
        }
        if (r.statusCode !== 200) throw new Error(String(r.statusCode));
        if (measuring) {
          requests++;
          latencies.push(performance.now() - t0);
        }
      } catch {
        if (measuring) errors++;
      }
    }
  }
  const workers = Array.from({ length: connections }, worker);
  await new Promise((r) => setTimeout(r, warmupMs));
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pid ? cpuSeconds(pid) - cpu0 : 0;
  stop = true;
  await Promise.all(workers);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { requests, errors, seconds, p50: pct(0.5), p99: pct(0.99), cpuUsPerRequest: pid ? (cpu * 1e6) / requests : null };
}

const loadAtStart = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(" / ");
const children: ChildProcess[] = [];
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-spool-"));
const fake = new FakeBackend();
const backendServer = await serveFakeBackend(fake, SERVICE_TOKEN);
try {
  children.push(await startChild("upstream", ["server/upstream-demo/main.ts", "--port", String(ports.upstream)], {}, /listening/));
  const upstreamUrl = `http://127.0.0.1:${ports.upstream}/v1`;
  fake.listings = [fakeListing(upstreamUrl, { slug: "bench/llama-3.1-8b" })];
  fake.addKey(SECRET, "bench-org");
  fake.balances.set("bench-org", 1_000_000n * 1_000_000_000n);
  const pipe = await startChild("pipe", ["bench/bare-pipe.ts", String(ports.pipe), `http://127.0.0.1:${ports.upstream}`], {}, /ready/);
  children.push(pipe);
  const proxy = await startChild(
    "proxy",
    ["server/gateway/main.ts"],
    {
      GATEWAY_PORT: String(ports.proxy),
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_BACKEND_URL: backendServer.url,
      SERVICE_TOKEN,
      GATEWAY_SPOOL_DIR: spoolDir,
      GATEWAY_RESERVATION_CHUNK_USD: "100",
      UPSTREAM_ALLOW_PRIVATE: `127.0.0.1:${ports.upstream}`,
      NODE_ENV: "production",
    },
    /listening/,
  );
  children.push(proxy);

  const rows: string[] = [];
  const rounds: string[] = [];
  const ratios: Record<string, number> = {};
  const roundRatios: Record<string, number> = {};
  const added: Record<string, number> = {};
  const dialectRatios: Record<string, number> = {};
  const singleRows: string[] = [];
  const modes = (process.env.BENCH_MODES ?? "non-streaming,streaming").split(",");
  for (const stream of [false, true].filter((st) => modes.includes(st ? "streaming" : "non-streaming"))) {
    const mode = stream ? "streaming" : "non-streaming";
    const cases: {
      name: string;
      origin: string;
      model: string;
      headers: Record<string, string>;
      pid: number | null;
      path?: string;
      body?: typeof chatBody;
    }[] = [
      { name: "direct", origin: `http://127.0.0.1:${ports.upstream}`, model: "llama-3.1-8b-instruct", headers: {}, pid: null },
      { name: "bare undici pipe", origin: `http://127.0.0.1:${ports.pipe}`, model: "llama-3.1-8b-instruct", headers: {}, pid: pipe.pid! },
      {
        name: "our proxy",
        origin: `http://127.0.0.1:${ports.proxy}`,
        model: "bench/llama-3.1-8b",
        headers: { authorization: `Bearer ${SECRET}` },
        pid: proxy.pid!,
      },
      {
        name: "our proxy, Responses API",
        origin: `http://127.0.0.1:${ports.proxy}`,
        model: "bench/llama-3.1-8b",
        headers: { authorization: `Bearer ${SECRET}` },
        pid: proxy.pid!,
        path: "/v1/responses",
        body: responsesBody,
      },
    ];
    const cpu: Record<string, number> = {};
    const runs = new Map<string, Result[]>(cases.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // The first round warms each process up longer (JIT, connection pools) before measuring.
      for (const c of cases)
        runs
          .get(c.name)!
          .push(await load(c.origin, (c.body ?? chatBody)(stream, c.model), c.headers, c.pid, round === 0 ? 3 * WARMUP_MS : WARMUP_MS, CONNECTIONS, c.path));
    }
    for (const c of cases) {
      const rs = runs.get(c.name)!;
      const med = (f: (r: Result) => number) => rs.map(f).sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;
      const r = { rps: med((x) => x.requests / x.seconds), p50: med((x) => x.p50), p99: med((x) => x.p99), cpu: c.pid ? med((x) => x.cpuUsPerRequest!) : null };
      const errors = rs.reduce((n, x) => n + x.errors, 0);
      const perRound = `${mode}, ${c.name}: ${rs.map((x) => `${(x.requests / x.seconds).toFixed(0)} req/s${x.cpuUsPerRequest === null ? "" : ` ${x.cpuUsPerRequest.toFixed(0)} µs`}`).join(" · ")}`;
      rounds.push(perRound);
      if (process.env.BENCH_VERBOSE) console.log(perRound);
      if (r.cpu !== null) cpu[c.name] = r.cpu;
      const line = `| ${mode} | ${c.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpu === null ? "–" : r.cpu.toFixed(0)} | ${errors} |`;
      console.log(line);
      rows.push(line);
    }
    ratios[mode] = cpu["our proxy"]! / cpu["bare undici pipe"]!;
    dialectRatios[mode] = cpu["our proxy, Responses API"]! / cpu["our proxy"]!;
    // Rounds interleave the cases, so a round's pipe and proxy ran under similar machine load.
    const pairs = runs
      .get("our proxy")!
      .map((x, i) => x.cpuUsPerRequest! / runs.get("bare undici pipe")![i]!.cpuUsPerRequest!)
      .sort((a, b) => a - b);
    roundRatios[mode] = pairs[Math.floor(pairs.length / 2)]!;

    // One connection: nothing queues, so the p50 difference is what the proxy adds to a request.
    const single = cases.filter((c) => c.name !== "direct" && !c.path);
    const p50s = new Map<string, number[]>(single.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of single) p50s.get(c.name)!.push((await load(c.origin, chatBody(stream, c.model), c.headers, null, WARMUP_MS, 1)).p50);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const pipeP50 = med(p50s.get("bare undici pipe")!);
    const proxyP50 = med(p50s.get("our proxy")!);
    added[mode] = proxyP50 - pipeP50;
    const line = `| ${mode} | ${pipeP50.toFixed(3)} | ${proxyP50.toFixed(3)} | ${added[mode]!.toFixed(3)} |`;
    console.log(`1 connection: ${line}`);
    singleRows.push(line);
  }
  const settled = fake.events.size;
  const verdict = Object.entries(ratios)
    .map(([mode, ratio]) => `${mode} ${ratio.toFixed(2)}× (${ratio <= TARGET_RATIO ? "PASS" : "FAIL"})`)
    .join(", ");
  const latencyVerdict = Object.entries(added)
    .map(([mode, ms]) => `${mode} +${ms.toFixed(3)} ms (${ms <= TARGET_ADDED_P50_MS ? "PASS" : "FAIL"})`)
    .join(", ");
  const dialectVerdict = Object.entries(dialectRatios)
    .map(([mode, ratio]) => `${mode} ${ratio.toFixed(2)}× (${ratio <= TARGET_RATIO ? "PASS" : "FAIL"})`)
    .join(", ");
  console.log(
    `proxy CPU per request vs the bare pipe: ${verdict}; added p50 at 1 connection: ${latencyVerdict}; usage events reported to the backend: ${settled}`,
  );
  console.log(`proxy CPU per Responses API request vs per chat request: ${dialectVerdict}`);

  const report = [
    "",
    `## Proxy overhead (bench:gateway) — ${new Date().toISOString()}`,
    "",
    `Machine: ${machine()} (at the start: ${loadAtStart}).`,
    `Load: ${CONNECTIONS} connections (undici Pool in the bench process), ${ROUNDS} interleaved rounds per case of ${WARMUP_MS / 1000} s warm-up (${(3 * WARMUP_MS) / 1000} s in the first) + ${MEASURE_MS / 1000} s measured, median round shown (errors summed); demo upstream with no delay, chat request with max_tokens 20 (streams are ~20 events).`,
    "Our proxy: `server/gateway/main.ts` as its own process, backend = in-memory fake over tRPC (cached key, $100 reservation chunks; usage reported in batches on the lean ingest path, spool on local disk).",
    "CPU µs/request = the proxy process's utime+stime (/proc) over the measured window ÷ requests completed.",
    "",
    "| mode | path | req/s | p50 ms | p99 ms | CPU µs/req | errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `Proxy CPU per request vs the bare pipe (target ≤ ${TARGET_RATIO}×): ${verdict}. Usage events the backend received: ${settled}.`,
    `Proxy CPU per Responses API request (max_output_tokens 20) vs per chat request (target ≤ ${TARGET_RATIO}×): ${dialectVerdict}.`,
    "",
    `One connection (${ROUNDS} interleaved rounds, median p50 in ms): the latency the proxy adds over the bare pipe (target ≤ ${TARGET_ADDED_P50_MS} ms): ${latencyVerdict}.`,
    "",
    "| mode | bare pipe p50 | our proxy p50 | added |",
    "| --- | ---: | ---: | ---: |",
    ...singleRows,
    `Median of the per-round ratios (each round's proxy ÷ that round's pipe): ${Object.entries(roundRatios)
      .map(([m, r]) => `${m} ${r.toFixed(2)}×`)
      .join(", ")}. Load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" / ")}.`,
    "",
    "Every round (req/s, CPU µs per request):",
    "",
    ...rounds.map((r) => `- ${r}`),
    "",
  ].join("\n");
  appendResult(report);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await backendServer.close();
  await new Promise((r) => setTimeout(r, 500));
  fs.rmSync(spoolDir, { recursive: true, force: true });
}
