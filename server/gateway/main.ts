// The proxy as a process: `tsx server/gateway/main.ts`. scripts/start.ts runs it beside
// the web app; it reaches the backend only through service-authenticated tRPC.
import path from "node:path";
import { env, EnvError } from "../env";
import { busConfigFrom } from "../fleet/bus-rules";
import { openNatsLink } from "../fleet/nats";
import { usagePublisher } from "../fleet/usage-bus";
import { parseUsd } from "../ledger/money";
import { initProcessLogger } from "../lib/logger";
import { trpcBackend } from "./backend";
import { outboundPolicyFrom } from "../lib/outbound-policy";
import { startGateway, upstreamCaps } from "./server";

function config() {
  const e = env();
  if (!e.SERVICE_TOKEN) throw new EnvError("SERVICE_TOKEN is not set (start the platform with `npm start`)");
  // The bus trusts what is published on it as the platform's own usage; a provider's proxy reports over HTTP, capped by its token.
  if (e.NATS_URL && e.GATEWAY_TOKEN_KIND === "provider")
    throw new EnvError("NATS_URL: the usage bus is for the platform's own proxies (GATEWAY_TOKEN_KIND=platform)");
  const backendUrl = e.GATEWAY_BACKEND_URL ?? `${(e.APP_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "")}/api/trpc`;
  const nats = e.NATS_URL ? openNatsLink(e.NATS_URL, { name: "tokenmarket-proxy", log: (l) => console.log(l) }) : null;
  return {
    backendUrl,
    nats,
    gateway: {
      backend: trpcBackend(backendUrl, e.SERVICE_TOKEN),
      usageSink: nats ? usagePublisher(nats, busConfigFrom(e)) : undefined,
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
      nats: nats ?? undefined,
      ...upstreamCaps,
    },
    port: e.GATEWAY_PORT,
    host: e.GATEWAY_HOST,
  };
}

const log = initProcessLogger("proxy");

try {
  const c = config();
  const gateway = await startGateway(c.gateway, { port: c.port, host: c.host });
  const backend = new URL(c.backendUrl);
  backend.username = backend.password = "";
  log.info(
    { url: `${gateway.url}/v1`, backend: backend.href },
    `proxy (OpenAI-compatible) listening on ${gateway.url}/v1${c.nats ? ", usage on the NATS bus" : ""}`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void gateway
      .close()
      .then(() => c.nats?.close())
      .then(
        () => process.exit(0),
        (err: Error) => {
          log.error({ err }, "proxy did not stop cleanly");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  if (err instanceof EnvError) log.fatal(err.message);
  else log.fatal({ err }, "proxy failed to start");
  process.exit(1);
}
