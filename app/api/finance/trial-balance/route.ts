import { sessionUser } from "@/server/api/http";
import { getDb } from "@/server/db";
import { exportCsv } from "@/server/finance/exports";

// Streamed CSV; authorised like the tRPC procedures (see server/finance/exports.ts).
export async function GET(req: Request) {
  return exportCsv(getDb(), await sessionUser(), "trial-balance", new URL(req.url));
}
