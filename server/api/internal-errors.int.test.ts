import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardedRoute } from "../internal-errors";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser, TEST_SERVICE_TOKEN, testPaymentsRuntime, testServiceTokens } from "../testing/fixtures";
import { MAX_BATCH_SIZE } from "./limits";
import { appRouter } from "./root";
import type { SessionUser } from "./trpc";

// Issue #15 acceptance 3: database error texts ("Failed query … params") reached clients.
// The tables every procedure reads are renamed away, so each call that reaches the database fails there.
const LEAK = /Failed query|params:|select |insert into|update |relation "|violates|x_gone_/i;

let t: TestDb;
let user: SessionUser;
beforeAll(async () => {
  t = await createTestDb();
  user = await makeUser(t.db, "broken");
  await makeOrg(t.db, user);
  for (const table of ["memberships", "api_keys", "listings", "ledger_accounts", "users", "reservations", "usage_events", "topups"]) {
    await t.pool.query(`alter table ${table} rename to x_gone_${table}`);
  }
});
afterAll(() => t.close());

function call(name: string, input: unknown, user: SessionUser | null) {
  const type = (appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)[name]!._def.type;
  const payload = encodeURIComponent(JSON.stringify({ json: input }));
  const req =
    type === "query"
      ? new Request(`http://app.test/api/trpc/${name}?input=${payload}`, { headers: { authorization: `Bearer ${TEST_SERVICE_TOKEN}` } })
      : new Request(`http://app.test/api/trpc/${name}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TEST_SERVICE_TOKEN}` },
          body: JSON.stringify({ json: input }),
        });
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: () => ({ db: t.db, user, serviceToken: TEST_SERVICE_TOKEN, matchServiceToken: testServiceTokens, payments: testPaymentsRuntime(t.db) }),
  });
}

describe("when the database fails, no response carries its text", () => {
  it("every procedure, signed in and with a service token", async () => {
    let internal = 0;
    for (const name of Object.keys(appRouter._def.procedures)) {
      for (const input of [undefined, {}]) {
        const res = await call(name, input, user);
        const body = await res.text();
        expect(body, name).not.toMatch(LEAK);
        if (res.status === 500) {
          internal++;
          expect(body, name).toMatch(/Something went wrong on our side\. If it persists, quote request [0-9a-f-]{36}\./);
        }
      }
    }
    // Enough of them reached the database to make the check mean something.
    expect(internal).toBeGreaterThan(20);
  });

  it("a route handler answers a generic 500 with a request id", async () => {
    const route = guardedRoute("GET /test", async () => {
      await t.db.execute(sql`select email from users where id = ${"secret-param"}`);
      return new Response("unreachable");
    });
    const res = await route();
    const body = (await res.json()) as { error: string; requestId: string };
    expect(res.status).toBe(500);
    expect(JSON.stringify(body)).not.toMatch(/secret-param|Failed query|users/);
    expect(body.error).toContain(body.requestId);
  });

  it("a batch past MAX_BATCH_SIZE is refused before any call runs", async () => {
    const names = Array.from({ length: MAX_BATCH_SIZE + 1 }, () => "catalog.facets").join(",");
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request(`http://app.test/api/trpc/${names}?batch=1&input={}`),
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: () => ({ db: t.db, user: null, serviceToken: null }),
    });
    expect(res.status).toBe(400);
  });
});
