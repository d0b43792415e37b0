import http from "node:http";
import type { AddressInfo } from "node:net";
import { initTRPC } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import superjson from "superjson";
import { z } from "zod";
import { routingInput } from "../contract/catalog";
import { generationInput, releaseInput, reserveInput, usageEvent, usageEventWire } from "../usage/contract";
import { ingestAnswerJson } from "../usage/ingest-wire";
import type { FakeBackend } from "./fake-backend";
import { registerSecrets } from "../testing/secrets";

/**
 * Serves a FakeBackend over tRPC with the real procedure paths (and the lean usage
 * ingest path, `POST /usage.ingest`), so a proxy
 * process can run against it exactly as against the web app (the benchmark
 * does, to keep the backend's cost out of the proxy's numbers).
 */
export async function serveFakeBackend(backend: FakeBackend, serviceToken: string): Promise<{ url: string; close: () => Promise<void> }> {
  registerSecrets(serviceToken, ...backend.listings.map((l) => l.upstreamCredential));
  const t = initTRPC.context<{ token: string | null }>().create({ transformer: superjson });
  const authed = t.procedure.use(({ ctx, next }) => {
    if (ctx.token !== serviceToken) throw new Error("bad service token");
    return next();
  });
  const router = t.router({
    // One page: the benchmark's catalog is far below a page.
    catalog: t.router({ routing: authed.input(routingInput).query(async () => ({ listings: await backend.routing(), nextCursor: null })) }),
    keys: t.router({
      resolve: authed.input(z.object({ secret: z.string() })).mutation(({ input }) => backend.resolveKey(input.secret)),
      revocationVersion: authed.input(z.object({ since: z.number().optional() }).optional()).query(({ input }) => backend.revocationVersion(input?.since)),
    }),
    reservations: t.router({
      reserve: authed.input(reserveInput).mutation(({ input }) => backend.reserve(input)),
      release: authed.input(releaseInput).mutation(({ input }) => backend.release(input)),
    }),
    usage: t.router({
      report: authed.input(z.object({ events: z.array(usageEvent) })).mutation(({ input }) => backend.report(input.events)),
      generation: authed.input(generationInput).query(({ input }) => backend.generation(input)),
    }),
  });
  const trpc = createHTTPHandler({
    router,
    createContext: ({ req }) => ({ token: req.headers.authorization?.replace(/^Bearer /, "") ?? null }),
  });
  const server = http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/usage.ingest") return trpc(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = async () => {
        if (req.headers.authorization !== `Bearer ${serviceToken}`) return { status: 401, body: '{"error":"bad service token"}' };
        const { events } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
        const { results } = await backend.report(events.map((e) => usageEventWire.parse(e)));
        return { status: 200, body: ingestAnswerJson(results) };
      };
      answer().then(
        (a) => res.writeHead(a.status, { "content-type": "application/json" }).end(a.body),
        (err: Error) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: err.message })),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
