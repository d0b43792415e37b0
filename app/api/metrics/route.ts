import { timingSafeEqual } from "node:crypto";
import { getDb } from "@/server/db";
import { env } from "@/server/env";
import { currentBusLag } from "@/server/fleet/bus-lag";
import { guardedRoute } from "@/server/internal-errors";
import { settlementMetricsText } from "@/server/usage/metrics";

/** The backend's Prometheus metrics (settlement lag), for whoever presents METRICS_TOKEN. */
export const GET = guardedRoute("GET /api/metrics", async (req: Request) => {
  const token = env().METRICS_TOKEN;
  if (!token) return new Response("Set METRICS_TOKEN to scrape the backend's metrics\n", { status: 404 });
  const given = Buffer.from(req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "");
  const want = Buffer.from(token);
  if (given.length !== want.length || !timingSafeEqual(given, want))
    return new Response("GET /api/metrics needs METRICS_TOKEN as a bearer token\n", { status: 401 });
  const m = await settlementMetricsText(getDb(), { bus: await currentBusLag() });
  return new Response(m.body, { headers: { "content-type": m.contentType, "cache-control": "no-store" } });
});
