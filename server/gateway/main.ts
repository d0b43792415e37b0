// The proxy as a process: `tsx server/gateway/main.ts`. scripts/start.ts runs it beside
// the web app; it reaches the backend only through service-authenticated tRPC.
import path from "node:path";
import { env, EnvError } from "../env";
import { parseUsd } from "../ledger/money";
import { trpcBackend } from "./backend";
import { outboundPolicyFrom } from "../lib/outbound-policy";
import { startGateway, upstreamCaps } from "./server";

function config() {
  const e = env();
  if (!e.SERVICE_TOKEN) throw new EnvError("SERVICE_TOKEN is not set (start the platform with `npm start`)");
  const backendUrl = e.GATEWAY_BACKEND_URL ?? `${(e.APP_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "")}/api/trpc`;
  return {
    backendUrl,
    gateway: {
      backend: trpcBackend(backendUrl, e.SERVICE_TOKEN),
      spoolDir: path.resolve(e.GATEWAY_SPOOL_DIR ?? path.join(e.DATA_DIR, "gateway-spool")),
      spoolMaxBytes: e.GATEWAY_SPOOL_MAX_BYTES,
      providerToken: e.GATEWAY_TOKEN_KIND === "provider",
      reservationChunkNano: parseUsd(e.GATEWAY_RESERVATION_CHUNK_USD, "GATEWAY_RESERVATION_CHUNK_USD"),
      defaultMaxTokens: e.GATEWAY_DEFAULT_MAX_TOKENS,
      reportFlushMs: e.GATEWAY_REPORT_INTERVAL_MS,
      metricsToken: e.GATEWAY_METRICS_TOKEN,
      outbound: outboundPolicyFrom(e),
      maxRequestMs: e.GATEWAY_MAX_REQUEST_SECONDS * 1000,
      upstreamIdleMs: e.GATEWAY_UPSTREAM_IDLE_SECONDS * 1000,
      redisUrl: e.REDIS_URL,
      natsUrl: e.NATS_URL,
      ...upstreamCaps,
    },
    port: e.GATEWAY_PORT,
    host: e.GATEWAY_HOST,
  };
}

try {
  const c = config();
  const gateway = await startGateway(c.gateway, { port: c.port, host: c.host });
  console.log(`proxy (OpenAI-compatible) listening on ${gateway.url}/v1, backend ${c.backendUrl}`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void gateway.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  console.error(err instanceof EnvError ? err.message : err);
  process.exit(1);
}
