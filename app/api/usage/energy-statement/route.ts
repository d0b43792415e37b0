import { sessionUser } from "@/server/api/http";
import { getDb } from "@/server/db";
import { energyStatement, STATEMENT_CSV_HEADER, statementCsvRows } from "@/server/economy/statement";
import { DomainError } from "@/server/errors";
import { guardedRoute } from "@/server/internal-errors";
import { parseMonth } from "@/server/finance/period";
import { csvStream } from "@/server/lib/csv";
import { resolveActiveOrg } from "@/server/orgs/service";

/**
 * The month's energy and emissions statement as CSV (`month=YYYY-MM`), for sustainability
 * reporting. Authorised like the Usage page: any member of the active organisation, its own usage only.
 */
export const GET = guardedRoute("GET /api/usage/energy-statement", async (req: Request) => {
  const user = await sessionUser();
  if (!user) return new Response("Sign in first\n", { status: 401 });
  const db = getDb();
  const org = await resolveActiveOrg(db, { userId: user.id });
  if (!org) return new Response("Create or join an organisation first\n", { status: 403 });
  let month: ReturnType<typeof parseMonth>;
  try {
    month = parseMonth(new URL(req.url).searchParams.get("month") ?? "");
  } catch (err) {
    if (err instanceof DomainError) return new Response(`${err.message}\n`, { status: 400 });
    throw err;
  }
  const statement = await energyStatement(db, { orgId: org.id, month });
  const pages = (async function* () {
    yield statementCsvRows(statement);
  })();
  return new Response(csvStream(STATEMENT_CSV_HEADER, pages), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="energy-${org.slug}-${month.month}.csv"`,
      "cache-control": "no-store",
    },
  });
});
