// A child process serving the tRPC API over plain HTTP for service callers
// (server/api/standalone.ts): `tsx scripts/service-api.ts <database-url> <port> <service-token> [windowed]`;
// with `windowed`, usage is left to a settler process (scripts/settler.ts) instead of settled before answering.
// Prints `{"port": n}` once listening. Used by bench/settlement.ts and the settlement crash test.
import { createDb, createPool } from "../db/client";
import { createServiceApiServer } from "../server/api/standalone";
import { serviceTokenMatcher } from "../server/auth/service-tokens";
import { initProcessLogger } from "../server/lib/logger";

const [url, port, token, mode] = process.argv.slice(2);
if (!url || !port || !token) {
  console.error("usage: tsx scripts/service-api.ts <database-url> <port> <service-token>");
  process.exit(2);
}
// stdout carries the port line its parent reads; the log goes to stderr.
initProcessLogger("service-api", { fd: 2 });
const pool = createPool(url, 8);
const server = createServiceApiServer(createDb(pool), serviceTokenMatcher(token, undefined), { usageSettlement: mode === "windowed" ? "windowed" : "inline" });
server.listen(Number(port), "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : Number(port) }));
});
const stop = () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
