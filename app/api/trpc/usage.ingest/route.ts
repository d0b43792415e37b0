import { matchServiceToken } from "@/server/api/http";
import { getDb } from "@/server/db";
import { guardedRoute } from "@/server/internal-errors";
import { BODY_LIMITS, readBodyLimited, tooLarge } from "@/server/lib/body";
import { handleIngest } from "@/server/usage/ingest-http";

/**
 * The lean usage ingest path beside the tRPC endpoint (server/usage/ingest-http.ts): the
 * proxy posts its usage batches here. Batches are settled by the worker's settler.
 */
export const POST = guardedRoute("POST /api/trpc/usage.ingest", async (req: Request) => {
  const body = await readBodyLimited(req, BODY_LIMITS.trpc);
  if (!body) return tooLarge(BODY_LIMITS.trpc);
  const answer = await handleIngest(
    getDb(),
    { body: new TextDecoder().decode(body), authorization: req.headers.get("authorization") },
    matchServiceToken,
    "windowed",
  );
  return new Response(answer.body, { status: answer.status, headers: { "content-type": "application/json" } });
});
