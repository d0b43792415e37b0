import path from "node:path";
import { defineConfig } from "vitest/config";

const testFiles = ["server/**/*.test.ts", "db/**/*.test.ts", "scripts/**/*.test.ts", "app/**/*.test.ts", "tooling/**/*.test.ts"];
// A test that needs PostgreSQL is named `*.int.test.ts`: it gets the shared server started by the
// global setup. Every other test is a unit test and must not touch a database, so the unit
// project starts none (`npm run test:unit` runs in seconds).
const integrationFiles = testFiles.map((glob) => glob.replace(/\.test\.ts$/, ".int.test.ts"));
// Tests that need no database but start whole processes (the gateway, supervised children, the
// lint and layer tools) and drive them for seconds: they run with the integration tests, not in
// the fast unit run.
const processFiles = [
  "tooling/checks.test.ts",
  "server/gateway/fuzz.test.ts",
  "server/gateway/gateway.test.ts",
  "server/gateway/hostile.test.ts",
  "server/gateway/resilience.test.ts",
  "scripts/lib/supervise.test.ts",
  "scripts/lib/embedded-pg.test.ts",
  "server/fleet/nats.test.ts",
  "server/gateway/shared-rate-limit.test.ts",
];

// Every process of a run (test workers, the proxies and settlers they start) also writes its log lines
// here, one file per process; the log audit (server/testing/log-audit-setup.ts) greps them for secrets
// when the run ends. The console gets warnings only; the files keep every line for reading after a run.
process.env.LOG_DIR ??= path.resolve(".data/test-logs", `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`);
process.env.LOG_CONSOLE_LEVEL ??= "warn";
const logAudit = "server/testing/log-audit-setup.ts";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      // `server-only` throws outside React server bundles; tests are server code.
      "server-only": path.resolve(import.meta.dirname, "server/testing/empty.ts"),
    },
  },
  test: {
    server: { deps: { inline: ["next-auth"] } },
    pool: "forks",
    // Fixed secrets for tests (the launcher generates real ones for local runs).
    env: {
      KEY_PEPPER: "test-key-pepper-0123456789abcdef-0123456789",
      CATALOG_ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: testFiles,
          exclude: ["**/*.int.test.ts", ...processFiles, "**/node_modules/**"],
          // Pure tests share no state (no env stubs, mocks or globals), so one set of worker
          // threads without per-file isolation runs them; a fork per file costs seconds in start-up.
          pool: "threads",
          isolate: false,
          globalSetup: [logAudit],
        },
      },
      { extends: true, test: { name: "process", include: processFiles, globalSetup: [logAudit] } },
      { extends: true, test: { name: "integration", include: integrationFiles, globalSetup: ["server/testing/global-setup.ts", logAudit] } },
    ],
  },
});
