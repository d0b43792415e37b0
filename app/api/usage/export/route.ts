import { sessionUser } from "@/server/api/http";
import { getDb } from "@/server/db";
import { guardedRoute } from "@/server/internal-errors";
import { activityCsv } from "@/server/dashboards/activity";
import { activityFilter } from "@/server/dashboards/inputs";
import { resolveActiveOrg } from "@/server/orgs/service";

/**
 * The activity log as CSV, filtered like the Usage page (`keyId`, `listingId`, `status`,
 * `from`, `to` query parameters). Authorised like the page: any member of the active
 * organisation. Streamed page by page, so a long log never sits in memory.
 */
export const GET = guardedRoute("GET /api/usage/export", async (req: Request) => {
  const user = await sessionUser();
  if (!user) return new Response("Sign in first\n", { status: 401 });
  const db = getDb();
  const org = await resolveActiveOrg(db, { userId: user.id });
  if (!org) return new Response("Create or join an organisation first\n", { status: 403 });

  const params = new URL(req.url).searchParams;
  const raw = Object.fromEntries(["keyId", "listingId", "status", "from", "to"].flatMap((k) => (params.get(k) ? [[k, params.get(k)]] : [])));
  const filter = activityFilter.safeParse(raw);
  if (!filter.success) {
    const message = filter.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    return new Response(`${message}\n`, { status: 400 });
  }

  const lines = activityCsv(db, { orgId: org.id, filter: filter.data });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A batch of lines per pull keeps chunks reasonably sized without buffering the log.
      let chunk = "";
      for (let i = 0; i < 200; i++) {
        const next = await lines.next();
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 10);
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="usage-${org.slug}-${stamp}.csv"`,
      "cache-control": "no-store",
    },
  });
});
