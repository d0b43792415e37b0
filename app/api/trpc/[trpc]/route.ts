import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createHttpContext } from "@/server/api/http";
import { MAX_BATCH_SIZE } from "@/server/api/limits";
import { appRouter } from "@/server/api/root";
import { BODY_LIMITS, limitedRequest, tooLarge } from "@/server/lib/body";

async function handler(raw: Request) {
  const req = await limitedRequest(raw, BODY_LIMITS.trpc);
  if (!req) return tooLarge(BODY_LIMITS.trpc);
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: () => createHttpContext(req),
  });
}

export { handler as GET, handler as POST };
