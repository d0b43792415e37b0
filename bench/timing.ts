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
