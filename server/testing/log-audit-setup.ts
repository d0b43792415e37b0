import type { TestProject } from "vitest/node";
import { findLeaks, fixedSecrets, leakReport } from "./log-audit";

/**
 * vitest global setup of every project: once the run is over, the log audit (./log-audit.ts)
 * searches every line the run's processes logged under LOG_DIR (vitest.config.ts sets it per run)
 * and fails the run, listing each line that holds a secret.
 */
export default function setup(project: TestProject) {
  const dir = process.env.LOG_DIR;
  if (!dir) return;
  return () => {
    const leaks = findLeaks(dir, fixedSecrets(project.config.env));
    if (!leaks.length) return;
    // vitest prints a teardown's error but keeps its exit code: the run fails here.
    process.exitCode = 1;
    throw new Error(`log audit of ${dir}: ${leakReport(leaks)}`);
  };
}
