import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(__dirname),
      // `server-only` throws outside React server bundles; tests are server code.
      "server-only": path.resolve(__dirname, "server/testing/empty.ts"),
    },
  },
  test: {
    include: ["server/**/*.test.ts", "db/**/*.test.ts", "scripts/**/*.test.ts"],
    globalSetup: ["server/testing/global-setup.ts"],
    server: { deps: { inline: ["next-auth"] } },
    pool: "forks",
    // A fixed key for tests: the launcher generates one for local runs.
    env: { CATALOG_ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
