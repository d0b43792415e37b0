import fs from "node:fs";
import os from "node:os";

/** The value at percentile `p` (0–100) of an ascending array: nearest rank, no interpolation. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `fn` `warmup` times untimed, then `runs` times; p50 and p95 in milliseconds. */
export async function timeQuery(fn: () => Promise<unknown>, runs: number, warmup: number) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), runs };
}

/** The machine a result was measured on, the same way in every benchmark: cores, CPU, memory, OS, Node, load average now. */
export function machine(extra?: string): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
  return `${cpus.length}× ${cpus[0]?.model.trim() ?? "CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}${extra ? `, ${extra}` : ""}; load average ${load}`;
}

const RESULTS = "bench/RESULTS.md";

/** Appends a benchmark's report to bench/RESULTS.md (newest last), separated from the one before by a blank line. */
export function appendResult(report: string): void {
  if (!fs.existsSync(RESULTS)) fs.writeFileSync(RESULTS, "# Benchmark results\n\nAppended by the `npm run bench:*` scripts; newest last.\n");
  fs.appendFileSync(RESULTS, `\n${report.trim()}\n`);
  console.log(`recorded in ${RESULTS}`);
}
