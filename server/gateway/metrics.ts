import client from "prom-client";

/** The proxy's Prometheus metrics (GET /metrics), in a registry of its own. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "gateway_" });
  const requests = new client.Counter({
    name: "gateway_requests_total",
    help: "Requests answered, by endpoint and HTTP status",
    labelNames: ["endpoint", "status"] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: "gateway_request_duration_seconds",
    help: "Time from request to the end of the response, by endpoint and whether it streamed",
    labelNames: ["endpoint", "stream"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const tokens = new client.Counter({
    name: "gateway_tokens_total",
    help: "Tokens served, by kind (input, cached_input, output) and whether the upstream counted them",
    labelNames: ["kind", "estimated"] as const,
    registers: [registry],
  });
  const upstreamFailures = new client.Counter({
    name: "gateway_upstream_failures_total",
    help: "Upstream attempts that failed before the first byte (connection error, 5xx, 429), by listing",
    labelNames: ["listing"] as const,
    registers: [registry],
  });
  const usageAnomalies = new client.Counter({
    name: "gateway_usage_anomalies_total",
    help: "Upstream usage reports not billed as reported (implausible counts, or more than the request's hold), by listing",
    labelNames: ["listing"] as const,
    registers: [registry],
  });
  // Bound to their labels once: every request counts its tokens, and a label lookup per count is measurable there.
  const byKind = (estimated: "true" | "false") => ({
    input: tokens.labels("input", estimated),
    cached_input: tokens.labels("cached_input", estimated),
    output: tokens.labels("output", estimated),
  });
  const tokenCounts = { true: byKind("true"), false: byKind("false") };
  return { registry, requests, duration, tokens, tokenCounts, upstreamFailures, usageAnomalies };
}

export type Metrics = ReturnType<typeof createMetrics>;
