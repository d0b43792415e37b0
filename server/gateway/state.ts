import type { Logger, LogLine } from "../lib/logger";
import type { NatsLink } from "../fleet/nats";
import type { OutboundPolicy } from "../lib/outbound-policy";
import type { Backend } from "./backend";
import type { CatalogCache } from "./catalog-cache";
import type { KeyCache } from "./key-cache";
import type { Metrics } from "./metrics";
import type { RateLimits } from "./rate-limit";
import type { UsageReporter } from "./reporter";
import type { CreditControl } from "./reservations";
import type { Spool } from "./spool";

/**
 * The proxy's configuration and the parts every request stage reads, apart
 * from server.ts (which builds them) so that the stages do not import the server.
 */

export type GatewayConfig = {
  backend: Backend;
  /** Where usage goes instead of the backend's ingest path (the usage bus, server/fleet/usage-bus.ts, with NATS_URL). */
  usageSink?: Pick<Backend, "report">;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Smallest reservation asked of the backend per key, nano-USD. */
  reservationChunkNano: bigint;
  /** The backend credential is a provider's service token: credit is held per key and listing, naming the listing. */
  providerToken?: boolean;
  /** max_tokens held for when a request sets none (clamped to context and credit). */
  defaultMaxTokens: number;
  /** Bearer token that opens GET /metrics to other hosts; without one, only loopback clients may read it. */
  metricsToken?: string;
  maxBodyBytes?: number;
  /** Which upstream addresses may be dialled (server/lib/outbound-policy.ts). */
  outbound: OutboundPolicy;
  /** Longest one proxied request may run; reservations are sized to outlive it (see startGateway). */
  maxRequestMs?: number;
  /** Longest an upstream may stay silent before its headers or between two chunks. */
  upstreamIdleMs?: number;
  /** Largest non-streamed upstream answer accepted. */
  maxUpstreamBodyBytes?: number;
  /** Largest single SSE event accepted (and so the most a stream holds back at once). */
  maxSseEventBytes?: number;
  catalogRefreshMs?: number;
  keyPollMs?: number;
  reportFlushMs?: number;
  creditIdleMs?: number;
  /** Where trouble is reported (warn level of `logger` when absent). */
  log?: LogLine;
  /** The per-request lines; the process's logger when absent. */
  logger?: Logger;
  /** Redis for rpm/tpm limits shared by every proxy (shared-rate-limit.ts); without it each proxy counts its own. */
  redisUrl?: string;
  /** The proxy's NATS link, for the backend's broadcasts (broadcasts.ts); without it key changes and listings arrive by polling only. */
  nats?: NatsLink;
};

export type GatewayState = {
  config: GatewayConfig & Required<Pick<GatewayConfig, "maxRequestMs" | "upstreamIdleMs" | "maxUpstreamBodyBytes" | "maxSseEventBytes">>;
  keys: KeyCache;
  catalog: CatalogCache;
  credit: CreditControl;
  rates: RateLimits;
  reporter: UsageReporter;
  spool: Spool;
  metrics: Metrics;
  log: LogLine;
  /** The per-request lines (`request billed`, `request refused`): scalar fields only, not redacted (lib/logger.ts unredacted). */
  logger: Logger;
};
