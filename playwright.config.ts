import { defineConfig } from "@playwright/test";

// The suite runs against a production build started by the same launcher as
// `npm start`, on its own ports and data directory (wiped by `npm test`).
const port = Number(process.env.E2E_PORT ?? 3100);
const pgPort = process.env.E2E_PG_PORT ?? "54340";
// The demo upstream of the e2e platform; its own port so it can run beside `npm start`.
export const upstreamPort = process.env.E2E_UPSTREAM_PORT ?? "8791";
// The e2e platform's proxy, which journeys call with the official openai client.
export const gatewayPort = process.env.E2E_GATEWAY_PORT ?? "8792";
// What pages show buyers as the proxy's address; 127.0.0.1, unlike the default, so a hard-coded URL fails.
export const gatewayPublicUrl = `http://127.0.0.1:${gatewayPort}/v1`;
// The second demo provider's service token, with which the economy journey reports meter readings (energy.report).
export const meterToken = "e2e-second-provider-meter-token-0123456789";

export const e2eDataDir = ".data/e2e";
// One log directory per run (workers load this file again and inherit the variable): e2e/log-audit.ts greps it for secrets.
process.env.E2E_LOG_DIR ??= `${e2eDataDir}/logs/${new Date().toISOString().replace(/[:.]/g, "-")}`;
export const e2eLogDir = process.env.E2E_LOG_DIR;

export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [["list"], ["json", { outputFile: ".test-results/playwright.json" }]],
  globalTeardown: "./e2e/log-audit.ts",
  use: {
    baseURL: `http://localhost:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: "node_modules/.bin/tsx scripts/start.ts",
    url: `http://localhost:${port}/api/auth/providers`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PORT: String(port),
      PG_PORT: pgPort,
      DEMO_UPSTREAM_PORT: upstreamPort,
      // The proxy the launcher starts; its own port so the suite can run beside `npm start`.
      GATEWAY_PORT: gatewayPort,
      GATEWAY_PUBLIC_URL: gatewayPublicUrl,
      DATA_DIR: e2eDataDir,
      LOG_DIR: e2eLogDir,
      NODE_ENV: "production",
      // Production refuses both unless asked: the suite runs the demo and tops up through the local checkout.
      DEMO_SEED: "true",
      LOCAL_CHECKOUT: "true",
      // The journeys count their own requests from an empty usage history.
      DEMO_TRAFFIC_HISTORY: "false",
      PROVIDER_SERVICE_TOKENS: `second-provider:${meterToken}`,
      // The journeys read token-economy figures right after their traffic: rebuild the summary every second.
      WORKER_INTERVAL_SECONDS: "1",
      ECONOMY_REFRESH_SECONDS: "1",
    },
  },
});
