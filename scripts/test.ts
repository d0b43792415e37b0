// `npm test`: every vitest project (unit; process; integration on a real
// PostgreSQL: see vitest.config.ts), then the Playwright journeys (Chromium,
// production build). Ends with one line `N passed, N failed` counted from both
// runners' JSON reports (vitest's counts every project).
import { spawnSync } from "node:child_process";
import fs from "node:fs";

const results = ".test-results";
fs.rmSync(results, { recursive: true, force: true });
fs.mkdirSync(results, { recursive: true });
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };

const vitest = spawnSync("node_modules/.bin/vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${results}/vitest.json`], {
  stdio: "inherit",
  env,
});

// Fresh data for the browser suite: its demo users and database start empty.
fs.rmSync(".data/e2e", { recursive: true, force: true });
const playwright = spawnSync("node_modules/.bin/playwright", ["test"], { stdio: "inherit", env });

function read<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return null;
  }
}
const v = read<{ numPassedTests: number; numFailedTests: number }>(`${results}/vitest.json`);
const p = read<{ stats: { expected: number; unexpected: number; flaky: number } }>(`${results}/playwright.json`);

const passed = (v?.numPassedTests ?? 0) + (p ? p.stats.expected + p.stats.flaky : 0);
let failed = (v?.numFailedTests ?? 0) + (p?.stats.unexpected ?? 0);
// A runner that crashed before reporting counts as a failure.
if (vitest.status !== 0 && !failed) failed += 1;
if (playwright.status !== 0 && !p?.stats.unexpected) failed += 1;

console.log(`\nvitest: ${v ? `${v.numPassedTests} passed, ${v.numFailedTests} failed` : "no report"}`);
console.log(`playwright: ${p ? `${p.stats.expected} passed, ${p.stats.unexpected} failed, ${p.stats.flaky} flaky` : "no report"}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
