import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listingPrices, listings } from "../../db/schema";
import type { AppRouter } from "../api/root";
import { serviceTokenMatcher, type ServiceIdentity } from "../auth/service-tokens";
import { ROUTING_PAGE_MAX } from "../contract/catalog";
import { uuidv7 } from "../lib/ids";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { trpcBackend } from "./backend";
import { CatalogCache } from "./catalog-cache";

/**
 * `catalog.routing` hands decrypted upstream credentials to proxies: it answers in bounded pages,
 * and the proxy's client reads them all. Over the real backend (tRPC over HTTP, a fresh database).
 */
const PROVIDER_TOKEN = "routing-pages-provider-token-0123456789abcdef";

let backend: TestBackend;
let match: (token: string | null) => ServiceIdentity | null = () => null;
/** Published listings with a price in force, by provider. */
const routable = { big: new Set<string>(), small: new Set<string>() };
let lastSlug = "";

async function publish(org: { id: string; slug: string }, count: number, effectiveFrom = new Date(Date.now() - 60_000)) {
  const rows = Array.from({ length: count }, (_, i) => {
    const model = `m-${String(i).padStart(4, "0")}-${uuidv7().slice(-6)}`;
    return {
      id: uuidv7(),
      orgId: org.id,
      slug: `${org.slug}/${model}`,
      modelSlug: model,
      name: model,
      family: "paging-family",
      contextLength: 8192,
      modalities: ["chat" as const],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: model,
      status: "published" as const,
    };
  });
  await backend.t.db.insert(listings).values(rows);
  await backend.t.db
    .insert(listingPrices)
    .values(rows.map((r) => ({ listingId: r.id, effectiveFrom, inputPer1kNano: 100n, outputPer1kNano: 200n, cachedInputPer1kNano: 50n })));
  return rows;
}

beforeAll(async () => {
  backend = await startTestBackend((token) => match(token));
  const owner = await makeUser(backend.t.db, "paging");
  const big = await makeOrg(backend.t.db, owner);
  const small = await makeOrg(backend.t.db, owner);
  match = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${big.slug}:${PROVIDER_TOKEN}`);
  for (const r of await publish(big, ROUTING_PAGE_MAX + 37)) routable.big.add(r.id);
  for (const r of await publish(small, 3)) routable.small.add(r.id);
  // Not routable, but each still takes a place in a page: one priced only from tomorrow, one draft.
  await publish(big, 1, new Date(Date.now() + 86_400_000));
  const [draft] = await publish(small, 1);
  await backend.t.pool.query("update listings set status = 'draft' where id = $1", [draft!.id]);
  lastSlug = [
    ...(await backend.t.pool.query<{ slug: string }>("select slug from listings where id = any($1::uuid[])", [[...routable.big]])).rows.map((r) => r.slug),
  ]
    .sort()
    .at(-1)!;
});

afterAll(() => backend?.close());

const client = (token: string) =>
  createTRPCClient<AppRouter>({ links: [httpLink({ url: backend.url, transformer: superjson, headers: { authorization: `Bearer ${token}` } })] });

describe("catalog.routing, paged and bounded", () => {
  it("answers at most a page, and refuses a larger page naming the field", async () => {
    const first = await client(TEST_SERVICE_TOKEN).catalog.routing.query();
    expect(first.listings.length).toBeLessThanOrEqual(ROUTING_PAGE_MAX);
    expect(first.nextCursor).not.toBeNull();
    await expect(client(TEST_SERVICE_TOKEN).catalog.routing.query({ limit: ROUTING_PAGE_MAX + 1 })).rejects.toThrow(
      `limit: must be at most ${ROUTING_PAGE_MAX}`,
    );
  });

  it("the platform token's proxy reads every published listing across the pages, each exactly once", async () => {
    const table = await trpcBackend(backend.url, TEST_SERVICE_TOKEN).routing();
    const ids = table.map((l) => l.listingId);
    expect(ids.length).toBe(routable.big.size + routable.small.size);
    expect(ids.length).toBeGreaterThan(ROUTING_PAGE_MAX);
    expect(new Set(ids)).toEqual(new Set([...routable.big, ...routable.small]));
    // The proxy's catalog cache holds the last page too.
    const cache = new CatalogCache(trpcBackend(backend.url, TEST_SERVICE_TOKEN));
    expect((await cache.candidates(lastSlug)).map((l) => l.slug)).toEqual([lastSlug]);
  });

  it("small pages walk the same table: keyset on the slug, nothing twice, nothing skipped", async () => {
    const c = client(TEST_SERVICE_TOKEN);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await c.catalog.routing.query({ after, limit: 50 });
      seen.push(...page.listings.map((l) => l.listingId));
      after = page.nextCursor ?? undefined;
      pages++;
    } while (after);
    expect(pages).toBeGreaterThan(10);
    expect(seen.length).toBe(new Set(seen).size);
    expect(new Set(seen)).toEqual(new Set([...routable.big, ...routable.small]));
  });

  it("a provider token pages through its own listings only", async () => {
    const table = await trpcBackend(backend.url, PROVIDER_TOKEN).routing();
    expect(table.length).toBeGreaterThan(ROUTING_PAGE_MAX);
    expect(new Set(table.map((l) => l.listingId))).toEqual(routable.big);
  });
});
