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
    include: ["server/**/*.test.ts", "db/**/*.test.ts", "scripts/**/*.test.ts", "app/**/*.test.ts"],
    globalSetup: ["server/testing/global-setup.ts"],
    server: { deps: { inline: ["next-auth"] } },
    pool: "forks",
    // Fixed secrets for tests (the launcher generates real ones for local runs).
    env: {
      KEY_PEPPER: "test-key-pepper-0123456789abcdef-0123456789",
      CATALOG_ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    },
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
