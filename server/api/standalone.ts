import http from "node:http";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { Db } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { BODY_LIMITS } from "../lib/body";
import { handleIngest } from "../usage/ingest-http";
import { appRouter } from "./root";

export type ServiceApiOptions = {
  /** Where the tRPC endpoint is mounted ("/api/trpc/" as in the web app, "/" for tests). */
  basePath?: string;
  /** How usage.report and usage.ingest settle (inline: before answering; windowed: a settler beside it does). */
  usageSettlement?: "inline" | "windowed";
};

/**
 * The tRPC API and the lean usage ingest path on a plain Node HTTP server, without Next:
 * service callers only (no session), for proxy tests, the settlement benchmark and the
 * crash tests, which need a process they can start many times and kill. Same router,
 * procedures and authorisation as the web app.
 */
export function createServiceApiServer(db: Db, matchServiceToken: (token: string | null) => ServiceIdentity | null, opts: ServiceApiOptions = {}) {
  const basePath = opts.basePath ?? "/api/trpc/";
  const usageSettlement = opts.usageSettlement ?? "inline";
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath,
    createContext: ({ req }) => {
      const authz = req.headers.authorization;
      return { db, user: null, serviceToken: authz?.startsWith("Bearer ") ? authz.slice(7) : null, matchServiceToken, usageSettlement };
    },
  });
  const ingestPath = `${basePath}usage.ingest`;
  return http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== ingestPath) return trpc(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMITS.trpc) {
        res
          .writeHead(413, { "content-type": "application/json", connection: "close" })
          .end(JSON.stringify({ error: `request body is larger than ${BODY_LIMITS.trpc} bytes` }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (res.headersSent) return;
      void handleIngest(
        db,
        { body: Buffer.concat(chunks).toString("utf8"), authorization: req.headers.authorization },
        matchServiceToken,
        usageSettlement,
      ).then((a) => res.writeHead(a.status, { "content-type": "application/json" }).end(a.body));
    });
  });
}
