import fs from "node:fs";
import path from "node:path";
import { findLeaks, leakReport } from "../server/testing/log-audit";
import { e2eDataDir, e2eLogDir } from "../playwright.config";

/**
 * Playwright's global teardown: the log audit of the platform the suite ran (server/testing/log-audit.ts).
 * Every process the launcher started logged to the run's directory; the secrets it generated
 * (`secrets.json`), the API keys the journeys created (shaped `tm_…`) and the demo credentials must
 * appear in no line.
 */
export default function auditLogs() {
  const file = path.join(e2eDataDir, "secrets.json");
  const generated = fs.existsSync(file) ? Object.values(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>) : [];
  const leaks = findLeaks(e2eLogDir, generated);
  if (leaks.length) throw new Error(`log audit of ${e2eLogDir}: ${leakReport(leaks)}`);
}
