import fs from "node:fs";
import path from "node:path";
import { SECRET_TEXT } from "../lib/logger";
import { MIN_SECRET_LENGTH } from "./secrets";

/**
 * The log audit of a test run: every line every process wrote under LOG_DIR (`*.log`, one file
 * per process) is searched for each secret the tests registered (`secrets/*.txt`), the fixed test
 * secrets, and anything shaped like an API key or a Stripe secret. A line that holds one fails the run.
 */

/** Secret shapes beyond the logger's own (SECRET_TEXT): the demo seed's upstream credentials (db/seed.ts). */
const AUDIT_SHAPES = new RegExp(`${SECRET_TEXT.source}|demo-upstream-key-[a-z0-9-]+`);

export type Leak = { file: string; line: number; secret: string; text: string };

/** Secrets every run knows without registering them: the fixed test secrets (vitest.config.ts, server/testing/fixtures.ts). */
export function fixedSecrets(env: Record<string, string | undefined> = process.env): string[] {
  return [env.KEY_PEPPER, env.CATALOG_ENCRYPTION_KEY].filter((s): s is string => !!s);
}

function registered(dir: string): string[] {
  const at = path.join(dir, "secrets");
  if (!fs.existsSync(at)) return [];
  return fs.readdirSync(at).flatMap((f) => fs.readFileSync(path.join(at, f), "utf8").split("\n"));
}

/** Where a masked text still shows a secret: the secret itself, and at most 40 characters of the line around it. */
function excerpt(line: string, at: number, secret: string) {
  const from = Math.max(0, at - 40);
  return `${from > 0 ? "…" : ""}${line.slice(from, at)}«${secret.slice(0, 4)}…»${line.slice(at + secret.length, at + secret.length + 40)}`;
}

/** Every logged line under `dir` that holds a secret. */
export function findLeaks(dir: string, extra: readonly string[] = []): Leak[] {
  if (!fs.existsSync(dir)) return [];
  const secrets = [...new Set([...registered(dir), ...extra])].filter((s) => s.length >= MIN_SECRET_LENGTH);
  const leaks: Leak[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".log"))) {
    const text = fs.readFileSync(path.join(dir, name), "utf8");
    // Whole files first (most hold no secret), lines only where one is.
    const hits = secrets.filter((s) => text.includes(s));
    const shaped = AUDIT_SHAPES.test(text);
    if (!hits.length && !shaped) continue;
    text.split("\n").forEach((line, i) => {
      for (const s of hits) {
        const at = line.indexOf(s);
        if (at >= 0) leaks.push({ file: name, line: i + 1, secret: `${s.slice(0, 4)}…`, text: excerpt(line, at, s) });
      }
      for (const m of shaped ? line.matchAll(new RegExp(AUDIT_SHAPES.source, "g")) : []) {
        leaks.push({ file: name, line: i + 1, secret: `${m[0].slice(0, 4)}…`, text: excerpt(line, m.index, m[0]) });
      }
    });
  }
  return leaks;
}

/** The audit's failure message: each offending line, masked. */
export function leakReport(leaks: readonly Leak[]): string {
  const shown = leaks.slice(0, 50).map((l) => `  ${l.file}:${l.line} (${l.secret}) ${l.text}`);
  return `${leaks.length} logged line(s) hold a secret:\n${shown.join("\n")}${leaks.length > 50 ? `\n  … and ${leaks.length - 50} more` : ""}`;
}
