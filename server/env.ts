import { z } from "zod";
import { parseEncryptionKey } from "./lib/encryption-key";
import { parseAllowPrivate } from "./lib/outbound-policy";

/**
 * Every environment variable the platform reads, validated in one place.
 * The launcher (scripts/start.ts) fills in local defaults (an embedded database,
 * generated secrets under DATA_DIR) before starting the web app, so a fresh
 * clone needs no editing.
 */
const bool = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: z.url({ message: "must be a postgres:// URL" }).optional(),
  DEMO_SEED: bool,
  /** With the demo seed: 30 days of settled traffic history (db/seed-traffic.ts); on unless "false" or "0". */
  DEMO_TRAFFIC_HISTORY: z
    .enum(["true", "false", "1", "0", ""])
    .optional()
    .transform((v) => v !== "false" && v !== "0"),
  DATA_DIR: z.string().min(1).default(".data"),
  PORT: port(3000),
  PG_PORT: port(54329),
  APP_URL: z.url().optional(),
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  AUTH_TRUST_HOST: bool,
  /** The app's public URL for Auth.js (the launcher sets it to APP_URL). */
  AUTH_URL: z.url().optional(),
  AUTH_GITHUB_ID: z.string().min(1).optional(),
  AUTH_GITHUB_SECRET: z.string().min(1).optional(),
  SIGNIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  SIGNIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(30),
  /**
   * How many reverse proxies of ours stand in front of the web app, each appending to
   * X-Forwarded-For. 0: the header is the client's own word and is ignored (no per-IP limits).
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Sign-ups one client address may attempt per SIGNIN_WINDOW_SECONDS (counted only when TRUSTED_PROXY_HOPS gives the address). */
  SIGNUP_MAX_PER_IP: z.coerce.number().int().min(1).default(10),
  /** Sign-ups the whole platform accepts per SIGNIN_WINDOW_SECONDS, whatever their address. */
  SIGNUP_MAX_PER_WINDOW: z.coerce.number().int().min(1).default(200),
  /** Bearer token of the platform's own proxy (and workers) for service-authenticated tRPC. */
  SERVICE_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  /** Tokens for provider-run proxies, each limited to one provider organisation: `org-slug:token,org-slug:token`. */
  PROVIDER_SERVICE_TOKENS: z
    .string()
    .optional()
    .refine((v) => !v || v.split(",").every((p) => /^[a-z0-9-]+:.{32,}$/.test(p.trim())), "must be `org-slug:token` pairs, tokens ≥ 32 characters"),
  /** Stripe mode when both are set; otherwise top-ups use the built-in local checkout. */
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_/, "must be a Stripe secret key (sk_test_… or sk_live_…)")
    .optional(),
  STRIPE_WEBHOOK_SECRET: z.string().startsWith("whsec_", "must start with whsec_").optional(),
  /** Allows the built-in local checkout (free credit, for demos) in production; outside production it runs whenever Stripe's keys are missing. */
  LOCAL_CHECKOUT: bool,
  /** Signs the local checkout's webhook events (generated locally). */
  STRIPE_LOCAL_WEBHOOK_SECRET: z.string().min(16).optional(),
  TOPUP_MIN_CENTS: z.coerce.number().int().min(50).default(500),
  /** A payout run pays a provider only when its funded earnings reach this many cents. */
  PAYOUT_MINIMUM_CENTS: z.coerce
    .number()
    .int("must be whole cents")
    .min(100, "must be at least 100 (Stripe's smallest transfer is about $1)")
    .max(100_000_000)
    .default(1000),
  /** Signs Stripe Connect webhook events (a Connect endpoint has its own secret); Stripe mode only. */
  STRIPE_CONNECT_WEBHOOK_SECRET: z.string().startsWith("whsec_", "must start with whsec_").optional(),
  TOPUP_MAX_CENTS: z.coerce.number().int().min(100).max(100_000_000).default(1_000_000),
  /** Default low-balance banner threshold for organisations that have not set one. */
  LOW_BALANCE_DEFAULT_CENTS: z.coerce.number().int().min(0).default(500),
  /**
   * Pepper for API key hashes: keys are stored as HMAC-SHA256(secret) under it, so
   * a copy of the database alone cannot verify guesses. Changing it invalidates every key.
   */
  KEY_PEPPER: z.string().min(32, "must be at least 32 characters").optional(),
  /** Tests only: an existing server to create throw-away databases on (else an embedded one starts). */
  TEST_DATABASE_URL: z.url({ message: "must be a postgres:// URL" }).optional(),
  /** Tests only: port of the embedded PostgreSQL the unit/integration run starts. */
  TEST_PG_PORT: port(54330),
  SIGNIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** AES-256-GCM key for upstream credentials at rest: 32 bytes as 64 hex characters or base64. */
  CATALOG_ENCRYPTION_KEY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseEncryptionKey(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
      }
    }),
  /** Port of the local OpenAI-compatible demo upstream that serves the demo listings. */
  DEMO_UPSTREAM_PORT: port(8790),
  /** The proxy's base URL as buyers use it, shown in the copy-paste examples. */
  GATEWAY_PUBLIC_URL: z.url().default("http://localhost:8787/v1"),
  /** Port of the OpenAI-compatible proxy (server/gateway). */
  GATEWAY_PORT: port(8787),
  GATEWAY_HOST: z.string().min(1).default("0.0.0.0"),
  /** The backend's tRPC endpoint the proxy calls with SERVICE_TOKEN; `${APP_URL}/api/trpc` when unset. */
  GATEWAY_BACKEND_URL: z.url().optional(),
  /** Where the proxy spools usage events until the backend acknowledges them; `${DATA_DIR}/gateway-spool` when unset. */
  GATEWAY_SPOOL_DIR: z.string().min(1).optional(),
  /** Most bytes of unacknowledged usage the spool holds; past it the proxy refuses new requests (503) rather than lose billing. */
  GATEWAY_SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .default(256 * 1024 * 1024),
  /** Smallest reservation the proxy asks the backend for per key, in dollars (it asks more when one request needs more). */
  GATEWAY_RESERVATION_CHUNK_USD: z
    .string()
    .regex(/^\d+(\.\d{1,9})?$/, "must be a decimal dollar amount such as 0.10")
    .default("0.10"),
  /**
   * Whose token the proxy's SERVICE_TOKEN is: `platform` (the platform's own proxy) or `provider` (a proxy a
   * provider runs with its PROVIDER_SERVICE_TOKENS token, which must name the listing it holds credit for).
   */
  GATEWAY_TOKEN_KIND: z.enum(["platform", "provider"]).default("platform"),
  /** How long the proxy gathers usage events into one `usage.report` batch (milliseconds). */
  GATEWAY_REPORT_INTERVAL_MS: z.coerce.number().int().min(1).max(60_000).default(100),
  /** Opens the proxy's GET /metrics to other hosts for whoever sends it as a bearer token; unset: loopback only. */
  GATEWAY_METRICS_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  /** Redis (or Valkey) that every proxy counts rpm/tpm key limits in, so the limits hold across the fleet; unset: each proxy counts its own. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, hostname: /./, message: "must be a redis:// or rediss:// URL" }).optional(),
  /** Bearer token for the web app's GET /api/metrics (settlement lag); unset, the endpoint answers 404. */
  METRICS_TOKEN: z.string().min(24, "must be at least 24 characters").optional(),
  /** max_tokens assumed for credit when a request sets none (then clamped to context length and to what the key can afford). */
  GATEWAY_DEFAULT_MAX_TOKENS: z.coerce.number().int().min(1).max(10_000_000).default(4096),
  /**
   * Upstreams on private or loopback addresses that may be called anyway (local model servers):
   * comma-separated `host:port` (`127.0.0.1:8790,[::1]:11434,gpu-box.lan:8000`). Everything else
   * private, link-local (cloud metadata), CGNAT or this platform's own ports is refused.
   */
  UPSTREAM_ALLOW_PRIVATE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseAllowPrivate(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Longest a proxied request may run, start to end, in seconds; reservations are held long enough to outlive it. */
  GATEWAY_MAX_REQUEST_SECONDS: z.coerce.number().int().min(1).max(1200).default(150),
  /** Longest an upstream may stay silent (before its headers, or between two chunks), in seconds. */
  GATEWAY_UPSTREAM_IDLE_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
  /** The platform's fee on settled usage, basis points of the cost (500 = 5 %); overridable per provider (provider_fee_overrides). */
  PLATFORM_FEE_BPS: z.coerce.number().int().min(0).max(10_000, "must be at most 10000 basis points").default(500),
  /** How often the worker expires reservations and keeps usage partitions ahead. */
  WORKER_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** Oldest the marketplace's token-economy figures (listing_economy) may get before the worker rebuilds them, seconds. */
  ECONOMY_REFRESH_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Unsettled usage batches past which `usage.report` answers 503 (the proxy keeps the events spooled and retries). */
  USAGE_BACKLOG_MAX_BATCHES: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  /** Shortest time between two settlement windows under load, milliseconds (idle, the settler looks every this long too). */
  SETTLEMENT_WINDOW_MS: z.coerce.number().int().min(10).max(10_000).default(3000),
  /**
   * NATS server(s) of the fleet (`nats://host:4222`, comma-separated for a cluster). Set: proxies publish usage to
   * JetStream and settler processes settle it; unset: usage goes to the web app over HTTP as on one machine.
   */
  NATS_URL: z
    .string()
    .optional()
    .refine((v) => !v || v.split(",").every((u) => /^(nats|tls|ws|wss):\/\/[^\s,]+$/.test(u.trim())), "must be nats:// URLs, comma-separated"),
  /** Subjects the usage stream is sharded into (`usage.<n>`, by API key); settlers share one durable consumer per shard. */
  USAGE_BUS_SHARDS: z.coerce.number().int().min(1).max(256).default(4),
  /** How long the usage stream keeps a message at most (hours): past it, unsettled usage is lost, so keep it well above any outage. */
  USAGE_BUS_MAX_AGE_HOURS: z.coerce.number().int().min(1).max(8760).default(168),
  /** Most bytes the usage stream holds; past it JetStream refuses new publishes and proxies keep spooling. */
  USAGE_BUS_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1_048_576)
    .default(8 * 1024 * 1024 * 1024),
  /** Copies of the usage stream in a JetStream cluster (1 on one server; 3 across three). */
  USAGE_BUS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** JetStream's duplicate window (seconds): a resend with the same event id within it is dropped by NATS (the database drops it after). */
  USAGE_BUS_DUPLICATE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  /** Deliveries of one usage message before a settler gives up on it as poison (logged and set aside). */
  USAGE_BUS_MAX_DELIVER: z.coerce.number().int().min(2).max(1000).default(20),
  /** How long a settler may hold usage messages unacknowledged (seconds) before JetStream delivers them to another settler. */
  USAGE_BUS_ACK_WAIT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Most usage messages a settler pulls at once, and most events it settles in one stage-1 transaction. */
  SETTLER_BATCH: z.coerce.number().int().min(1).max(5000).default(1000),
  /** Least severe log level written: trace, debug, info, warn, error, fatal, or silent. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /** Least severe level also written to the console when LOG_DIR is set (its files get LOG_LEVEL); the test runs keep their output to warnings. */
  LOG_CONSOLE_LEVEL: z.enum(LOG_LEVELS).optional(),
  /** json: one JSON object per line (production, CI); pretty: one readable line per entry (`npm start` sets it). */
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  /** When set, each process also appends its JSON lines to `<LOG_DIR>/<process>-<pid>.log` (the test runs audit them for secrets). */
  LOG_DIR: z.string().min(1).optional(),
  /** Tests only: events in the randomised settlement test (`npm run test:soak` raises it to 200 000). */
  SETTLEMENT_TEST_EVENTS: z.coerce.number().int().min(100).default(20_000),
  /** The nats-server binary the local fleet (`npm run start:fleet`) and the tests start. */
  NATS_SERVER_BIN: z.string().min(1).default("nats-server"),
  /** The redis-server binary the local fleet and the tests start. */
  REDIS_SERVER_BIN: z.string().min(1).default("/usr/bin/redis-server"),
  /** Tests only: a settler SIGKILLs itself after its n-th stage-1 batch commits, before acknowledging it on the bus (0: never). */
  SETTLER_CRASH_AFTER_COMMIT: z.coerce.number().int().min(0).default(0),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {}

/** Parses an environment; throws one message naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  throw new EnvError(`Invalid environment configuration:\n${lines.join("\n")}`);
}

let cached: Env | undefined;

/** The process environment, parsed once. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

const logSchema = envSchema.pick({ LOG_LEVEL: true, LOG_CONSOLE_LEVEL: true, LOG_FORMAT: true, LOG_DIR: true });

/**
 * The logging variables alone: a process logs even when the rest of its configuration is
 * invalid (that error is the first thing it logs).
 */
export function logEnv(source: Record<string, string | undefined> = process.env): z.infer<typeof logSchema> {
  const result = logSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  throw new EnvError(`Invalid environment configuration:\n${lines.join("\n")}`);
}

/** The API key pepper; the launcher generates one for local runs. */
export function keyPepper(): string {
  const pepper = env().KEY_PEPPER;
  if (!pepper) throw new EnvError("KEY_PEPPER is not set (start the platform with `npm start`)");
  return pepper;
}

/** The key that encrypts upstream credentials; the launcher generates a local one. */
export function catalogEncryptionKey(): Buffer {
  const text = env().CATALOG_ENCRYPTION_KEY;
  if (!text) throw new EnvError("CATALOG_ENCRYPTION_KEY is not set (start the platform with `npm start`)");
  return parseEncryptionKey(text);
}

/** The variables the web process cannot run without (the launcher provides them). */
export function webEnv(): Env & { DATABASE_URL: string; AUTH_SECRET: string } {
  const e = env();
  if (!e.DATABASE_URL) throw new EnvError("DATABASE_URL is not set (start the platform with `npm start`)");
  if (!e.AUTH_SECRET) throw new EnvError("AUTH_SECRET is not set (start the platform with `npm start`)");
  return e as Env & { DATABASE_URL: string; AUTH_SECRET: string };
}

/** The sign-in limiter's settings. */
export function signInLimits(e: Env = env()) {
  return { maxPerEmail: e.SIGNIN_MAX_FAILURES_PER_EMAIL, maxPerIp: e.SIGNIN_MAX_FAILURES_PER_IP, windowSeconds: e.SIGNIN_WINDOW_SECONDS };
}

/** The sign-up limiter's settings. */
export function signUpLimits(e: Env = env()) {
  return { maxPerIp: e.SIGNUP_MAX_PER_IP, maxPerWindow: e.SIGNUP_MAX_PER_WINDOW, windowSeconds: e.SIGNIN_WINDOW_SECONDS };
}
