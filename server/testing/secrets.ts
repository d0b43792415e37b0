import fs from "node:fs";
import path from "node:path";

/**
 * Secrets tests create (API keys, upstream credentials, service tokens, Stripe secrets), noted
 * where the run's log audit (./log-audit.ts) finds them: after the run it greps every line every
 * process logged for each of them. Shorter texts than MIN_SECRET_LENGTH are too common to grep.
 */

export const MIN_SECRET_LENGTH = 8;

/** The file of secrets this process registered, under the run's LOG_DIR. */
export const secretsFile = (dir: string, pid = process.pid) => path.join(dir, "secrets", `${pid}.txt`);

/** Registers secrets for the log audit (nothing outside a test run, which sets LOG_DIR). */
export function registerSecrets(...secrets: (string | null | undefined)[]) {
  const dir = process.env.LOG_DIR;
  const keep = secrets.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH && !s.includes("\n"));
  if (!dir || !keep.length) return;
  fs.mkdirSync(path.dirname(secretsFile(dir)), { recursive: true });
  fs.appendFileSync(secretsFile(dir), keep.map((s) => `${s}\n`).join(""));
}
