import { sessionUser } from "@/server/api/http";
import { getDb } from "@/server/db";
import { guardedRoute } from "@/server/internal-errors";
import { exportCsv } from "@/server/finance/exports";

// Streamed CSV; authorised like the tRPC procedures (see server/finance/exports.ts).
export const GET = guardedRoute("GET /api/finance/statement", async (req: Request) => {
  return exportCsv(getDb(), { user: await sessionUser(), kind: "statement", url: new URL(req.url) });
});
