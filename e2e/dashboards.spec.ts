import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import superjson from "superjson";
import { DEMO_KEY_SECRET, demoListings, demoUsers } from "../db/seed";
import { uuidv7 } from "../server/lib/ids";
import { demo, signIn, signOut } from "./helpers";

/**
 * The dashboards journey: the demo buyer makes a few requests through the proxy, then sees
 * them in the activity log and the chart; the demo provider sees the earnings; the
 * marketplace shows measured throughput for the listings used.
 *
 * The requests go through the OpenAI-compatible proxy at GATEWAY_PORT (8787 by default) with
 * the demo key. Only when nothing answers on that port (a build without the proxy) does the
 * spec report the same requests itself through `usage.report` with the platform's service
 * token, so the pages can still be checked.
 */

const gatewayPort = process.env.GATEWAY_PORT ?? "8787";
const models = demoListings.filter((l) => l.org === demoUsers.provider.slug && l.modalities.includes("chat")).map((l) => `${l.org}/${l.modelSlug}`);
const REQUESTS = 3;

async function gatewayAnswers(): Promise<boolean> {
  try {
    await fetch(`http://localhost:${gatewayPort}/v1/models`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

async function viaGateway() {
  const client = new OpenAI({ apiKey: DEMO_KEY_SECRET, baseURL: `http://localhost:${gatewayPort}/v1` });
  for (const model of models) {
    for (let i = 0; i < REQUESTS; i++) {
      const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: `Say hello, number ${i}` }], max_tokens: 32 });
      expect(r.choices[0]?.message).toBeTruthy();
    }
  }
}

/** Fallback without a proxy: the events a proxy would report, through the same service API. */
async function viaUsageReport(baseURL: string) {
  const secrets = JSON.parse(fs.readFileSync(path.join(".data/e2e", "secrets.json"), "utf8")) as { SERVICE_TOKEN: string };
  const call = async (proc: string, input: unknown) => {
    const res = await fetch(`${baseURL}/api/trpc/${proc}`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.SERVICE_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(superjson.serialize(input)),
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: unknown };
    if (!res.ok || !body.result) throw new Error(`${proc}: ${res.status} ${JSON.stringify(body.error)}`);
    return superjson.deserialize(body.result.data as Parameters<typeof superjson.deserialize>[0]) as never;
  };
  const key = (await call("keys.resolve", { secret: DEMO_KEY_SECRET })) as { status: string; keyId: string };
  expect(key.status).toBe("active");
  const routing = (await fetch(`${baseURL}/api/trpc/catalog.routing`, { headers: { authorization: `Bearer ${secrets.SERVICE_TOKEN}` } }).then((r) => r.json())) as {
    result: { data: unknown };
  };
  const listings = superjson.deserialize(routing.result.data as Parameters<typeof superjson.deserialize>[0]) as { listingId: string; slug: string }[];
  const now = Date.now();
  const events = models.flatMap((model, m) => {
    const listing = listings.find((l) => l.slug === model)!;
    return Array.from({ length: REQUESTS }, (_, i) => {
      const startedAt = new Date(now - (m * REQUESTS + i + 1) * 2000);
      return {
        id: uuidv7(),
        reservationId: null,
        keyId: key.keyId,
        listingId: listing.listingId,
        inputTokens: 12 + i,
        outputTokens: 32,
        cachedInputTokens: 0,
        startedAt,
        firstTokenAt: new Date(startedAt.getTime() + 40 + i * 5),
        endedAt: new Date(startedAt.getTime() + 240 + i * 10),
        status: "ok",
        estimated: false,
        upstreamStatus: 200,
      };
    });
  });
  const { results } = (await call("usage.report", { events })) as { results: { status: string }[] };
  expect(results.map((r) => r.status)).toEqual(events.map(() => "settled"));
}

test("buyer sees requests in the activity log and chart; provider sees earnings; the marketplace shows measured throughput", async ({ page, baseURL }) => {
  if (await gatewayAnswers()) await viaGateway();
  else await viaUsageReport(baseURL!);
  const total = models.length * REQUESTS;

  await signIn(page, demo.buyer);
  await page.goto("/usage");
  await expect(page.getByTestId("overview-spend-today")).not.toHaveText("$0.00");
  await expect(page.getByTestId("usage-chart").locator(".recharts-bar-rectangle").first()).toBeVisible();
  await expect(page.getByTestId("activity-row")).toHaveCount(total);
  await expect(page.getByTestId("activity-total-requests")).toHaveText(String(total));
  await expect(page.getByTestId("activity-table")).toContainText(models[0]!);
  // The export has the log's rows.
  const csv = await page.request.get("/api/usage/export");
  expect(csv.status()).toBe(200);
  expect((await csv.text()).trim().split("\r\n")).toHaveLength(total + 1);
  // Filter by model: only that model's requests remain.
  await page.getByLabel("Model", { exact: true }).selectOption({ label: models[0]! });
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("activity-row")).toHaveCount(REQUESTS);
  await signOut(page);

  await signIn(page, demo.provider);
  await page.goto("/earnings");
  await expect(page.getByTestId("earnings-requests")).toHaveText(String(total));
  await expect(page.getByTestId("earnings-gross")).not.toHaveText("$0.00");
  await expect(page.getByTestId("earnings-by-listing")).toContainText(models[0]!);
  await expect(page.getByTestId("performance-row").filter({ hasText: models[0]! }).getByTestId("performance-tps")).toHaveText(/^\d/);

  await page.goto("/?sort=throughput");
  for (const model of models) {
    await expect(page.locator(`[data-testid="market-row"][data-slug="${model}"]`).getByTestId("measured-tps")).toHaveText(/^\d/);
  }
  await page.goto(`/m/${models[0]}`);
  await expect(page.getByTestId("listing-measured").getByTestId("measured-tps")).toHaveText(/tokens\/s/);
});
