import { createHTTPServer } from "@trpc/server/adapters/standalone";
import type { Db } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { appRouter } from "./root";
import type { Context } from "./trpc";

/**
 * The tRPC API on a plain Node HTTP server, without Next: service callers only (no
 * session), for the settlement benchmark and crash test, which need a process they can
 * start many times and kill. Same router, procedures and authorisation as the web app.
 */
export function createServiceApiServer(
  db: Db,
  matchServiceToken: (token: string | null) => ServiceIdentity | null,
  opts: { usageSettlement?: Context["usageSettlement"] } = {},
) {
  return createHTTPServer({
    router: appRouter,
    basePath: "/api/trpc/",
    createContext: ({ req }) => {
      const authz = req.headers.authorization;
      return { db, user: null, serviceToken: authz?.startsWith("Bearer ") ? authz.slice(7) : null, matchServiceToken, usageSettlement: opts.usageSettlement };
    },
  });
}
