/**
 * The heart of every reconciliation: two sets of figures keyed the same way (source
 * records and ledger postings), compared exactly. A key on one side only counts as 0
 * on the other. Differences are listed in key order.
 */
export type Difference = { key: string; expectedNano: bigint; actualNano: bigint; differenceNano: bigint; note?: string };

export function compareFigures(expected: ReadonlyMap<string, bigint>, actual: ReadonlyMap<string, bigint>): Difference[] {
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  const out: Difference[] = [];
  for (const key of keys) {
    const e = expected.get(key) ?? 0n;
    const a = actual.get(key) ?? 0n;
    if (e !== a) {
      const note = !expected.has(key) ? "only in the ledger" : !actual.has(key) ? "missing from the ledger" : undefined;
      out.push({ key, expectedNano: e, actualNano: a, differenceNano: a - e, ...(note ? { note } : {}) });
    }
  }
  return out;
}

/** Adds `amount` under `key` (a Map used as a multiset of sums). */
export function addTo(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}
