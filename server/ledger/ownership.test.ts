import { type Dirent, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The ledger owns its rows: outside server/ledger/ (and the schema and migrations in db/), no source
// reads or locks ledger accounts or holds; it asks the ledger's store API (./service.ts) instead.
const ROOT = path.resolve(__dirname, "../..");
const SCANNED = ["app", "bench", "e2e", "scripts", "server"];
const OWNERS = ["server/ledger/", "db/"];
const FORBIDDEN = /ledger_accounts|ledger_pending|ledgerAccounts|ledgerPending/;
const isTest = (file: string) => /\.(test|spec)\.tsx?$/.test(file);

function sources(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(path.join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(rel);
    return /\.tsx?$/.test(e.name) && !isTest(e.name) ? [rel] : [];
  });
}

function ledgerRowReaders(files: readonly { file: string; text: string }[]): string[] {
  return files
    .filter(({ file }) => !OWNERS.some((o) => file.startsWith(o)))
    .filter(({ text }) => FORBIDDEN.test(text))
    .map(({ file }) => file);
}

describe("the ledger owns ledger rows", () => {
  it("no source outside server/ledger/ names ledger_accounts, ledger_pending or their drizzle tables", () => {
    const files = SCANNED.flatMap(sources).map((file) => ({ file, text: readFileSync(path.join(ROOT, file), "utf8") }));
    expect(files.length).toBeGreaterThan(100);
    expect(ledgerRowReaders(files)).toEqual([]);
  });

  it.each([
    ["a raw lock of accounts", "server/usage/settler.ts", "select id from ledger_accounts for update", true],
    ["a hold read", "server/credits/postings.ts", "join ledger_pending p on p.pending_id = x", true],
    ["the drizzle table", "app/page.tsx", "db.select().from(ledgerAccounts)", true],
    ["the ledger itself", "server/ledger/locks.ts", "from ledger_accounts", false],
    ["the schema", "db/schema/ledger.ts", "export const ledgerAccounts", false],
    ["a module that asks the ledger", "server/usage/reservations.ts", "lockAccounts(tx, { accountIds })", false],
  ] as const)("flags %s", (_label, file, text, flagged) => {
    expect(ledgerRowReaders([{ file, text }])).toEqual(flagged ? [file] : []);
  });
});
