import type { AddressInfo } from "node:net";
import { createServiceApiServer } from "../api/standalone";
import { createTestDb, type TestDb } from "./db";
import { TEST_SERVICE_TOKEN, testServiceTokens } from "./fixtures";

export type TestBackend = {
  /** The tRPC endpoint a proxy points GATEWAY_BACKEND_URL at. */
  url: string;
  serviceToken: string;
  t: TestDb;
  close: () => Promise<void>;
};

/**
 * The real backend for proxy tests: the application's tRPC router and the lean
 * usage ingest path, served over HTTP on a random port, over a fresh
 * migrated test database. Proxies authenticate with TEST_SERVICE_TOKEN (or the
 * provider tokens `matchServiceToken` knows).
 */
export async function startTestBackend(matchServiceToken = testServiceTokens): Promise<TestBackend> {
  const t = await createTestDb();
  // Inline settlement: a proxy's drained spool means its usage is in the ledger, as tests check it.
  const server = createServiceApiServer(t.db, matchServiceToken, { basePath: "/", usageSettlement: "inline" });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceToken: TEST_SERVICE_TOKEN,
    t,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await t.close();
    },
  };
}
