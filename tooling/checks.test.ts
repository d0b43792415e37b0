import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// Issue 19, acceptance 1: CI's linter, formatter check and layer rules each fail on a planted
// violation. Each case builds a small tree shaped like the repository in a temporary directory,
// copies the real configuration files into it and runs the real tools, so a rule that stops
// matching (a renamed path, a loosened pattern) fails here.

const repo = path.resolve(import.meta.dirname, "..");
const CONFIGS = ["biome.jsonc", ".dependency-cruiser.cjs", ".dependency-cruiser-cycles.cjs", "tsconfig.json"];
const roots: string[] = [];

/** A tree that passes every check: a pure rule, a gateway module, a client component, db/. */
const CLEAN: Record<string, string> = {
  "db/client.ts": 'import pg from "pg";\n\nexport const pool = new pg.Pool();\n',
  "server/ledger/money.ts": "/** Whole nano-USD per dollar. */\nexport const NANO_PER_USD = 1_000_000_000n;\n",
  "server/ledger/store.ts":
    'import { pool } from "../../db/client";\nimport { NANO_PER_USD } from "./money";\n\nexport const balance = async () => (await pool.query("select 1")).rowCount ?? NANO_PER_USD;\n',
  "server/gateway/estimate.ts": 'import { NANO_PER_USD } from "../ledger/money";\n\nexport const worstCase = (tokens: bigint) => tokens * NANO_PER_USD;\n',
  "server/gateway/relay.ts":
    'import { request } from "undici";\nimport { worstCase } from "./estimate";\n\nexport const relay = (url: string) => request(url).then(() => worstCase(1n));\n',
  "app/price.tsx":
    '"use client";\n\nimport type { balance } from "@/server/ledger/store";\nimport { NANO_PER_USD } from "@/server/ledger/money";\n\nexport type Balance = typeof balance;\nexport const Price = () => String(NANO_PER_USD);\n',
};

function tree(extra: Record<string, string> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tm-checks-"));
  roots.push(root);
  for (const file of CONFIGS) fs.copyFileSync(path.join(repo, file), path.join(root, file));
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(root, "node_modules"));
  for (const [file, text] of Object.entries({ ...CLEAN, ...extra })) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** Runs a tool from the repository's node_modules in the tree; resolves with its exit status and output. */
function run(root: string, bin: string, args: string[]): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repo, "node_modules/.bin", bin), args, { cwd: root, encoding: "utf8" }, (error, stdout) => {
      resolve({ status: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout });
    });
  });
}

/** Biome's error diagnostics as `category` names (`lint/suspicious/noDebugger`, `format`). */
async function biome(root: string, command: "lint" | "format") {
  // The temporary tree is no git checkout, so Biome reads no ignore file there.
  const r = await run(root, "biome", [command, "--vcs-enabled=false", "--reporter=json", "."]);
  const report = JSON.parse(r.stdout) as { diagnostics: { category: string; severity: string }[] };
  return { status: r.status, errors: report.diagnostics.filter((d) => d.severity === "error").map((d) => d.category) };
}

/** The rule names dependency-cruiser reports, over the runtime graph or the graph with types. */
async function depcruise(root: string, config: ".dependency-cruiser.cjs" | ".dependency-cruiser-cycles.cjs") {
  const r = await run(root, "depcruise", ["--config", config, "--output-type", "err", "server", "app", "db"]);
  const rules = [...r.stdout.matchAll(/^\s*error ([\w-]+):/gm)].map((m) => m[1]);
  // Its exit status counts the violations: any non-zero fails CI.
  return { failed: r.status !== 0, rules: [...new Set(rules)] };
}

afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

// Each case starts Biome or dependency-cruiser (about a second of CPU each); a loaded CI machine
// needs more than the default 30 s.
describe.concurrent("CI checks", { timeout: 180_000 }, () => {
  it("pass on a clean tree with the real configuration", async () => {
    const root = tree();
    const [lint, format, runtime, cycles] = await Promise.all([
      biome(root, "lint"),
      biome(root, "format"),
      depcruise(root, ".dependency-cruiser.cjs"),
      depcruise(root, ".dependency-cruiser-cycles.cjs"),
    ]);
    expect({ lint, format, runtime, cycles }).toEqual({
      lint: { status: 0, errors: [] },
      format: { status: 0, errors: [] },
      runtime: { failed: false, rules: [] },
      cycles: { failed: false, rules: [] },
    });
  });

  it("the linter fails on a planted lint error", async () => {
    const root = tree({ "server/ledger/debug.ts": "export function halt() {\n  debugger;\n}\n" });
    const r = await biome(root, "lint");
    expect(r.status).not.toBe(0);
    expect(r.errors).toEqual(["lint/suspicious/noDebugger"]);
  });

  it("the format check fails on a planted formatting error", async () => {
    const root = tree({ "server/ledger/ugly.ts": "export const fee = {basisPoints:250,\n    minimumNano: 1n}\n" });
    const r = await biome(root, "format");
    expect(r.status).not.toBe(0);
    expect(r.errors).toEqual(["format"]);
  });

  const planted: { label: string; files: Record<string, string>; rule: string }[] = [
    {
      label: "a pure rule file that imports pg",
      files: { "server/ledger/rules.ts": 'import pg from "pg";\n\nexport const types = pg.types;\n' },
      rule: "pure-rules-no-io",
    },
    {
      label: "a listed pure file that reaches undici through another module",
      files: {
        "server/ledger/rates.ts": 'import { request } from "undici";\n\nexport const rate = (url: string) => request(url);\n',
        "server/ledger/money.ts": 'import { rate } from "./rates";\n\nexport const NANO_PER_USD = 1_000_000_000n;\nexport const fetchRate = rate;\n',
      },
      rule: "pure-rules-no-io",
    },
    {
      label: "a gateway file that imports db/",
      files: { "server/gateway/spend.ts": 'import { pool } from "../../db/client";\n\nexport const spend = () => pool.query("select 1");\n' },
      rule: "gateway-no-database",
    },
    {
      label: "a client component that imports a server module",
      files: { "app/balance.tsx": '"use client";\n\nimport { balance } from "@/server/ledger/store";\n\nexport const Balance = () => String(balance);\n' },
      rule: "client-imports-server-types-only",
    },
    {
      label: "an import cycle",
      files: {
        "server/usage/a.ts": 'import { b } from "./b";\n\nexport const a = () => b();\n',
        "server/usage/b.ts": 'import { a } from "./a";\n\nexport const b = (): number => (a ? 1 : 0);\n',
      },
      rule: "no-circular",
    },
  ];
  it.each(planted)("$label fails $rule", async ({ files, rule }) => {
    expect(await depcruise(tree(files), ".dependency-cruiser.cjs")).toEqual({ failed: true, rules: [rule] });
  });

  it("a cycle through a type-only import fails no-circular in the cycles configuration", async () => {
    const root = tree({
      "server/usage/state.ts": 'import { start } from "./server";\n\nexport type State = { n: number };\nexport const boot = start;\n',
      "server/usage/server.ts": 'import type { State } from "./state";\n\nexport const start = (s: State) => s.n;\n',
    });
    const [runtime, cycles] = await Promise.all([depcruise(root, ".dependency-cruiser.cjs"), depcruise(root, ".dependency-cruiser-cycles.cjs")]);
    expect(runtime).toEqual({ failed: false, rules: [] });
    expect(cycles).toEqual({ failed: true, rules: ["no-circular"] });
  });
});
