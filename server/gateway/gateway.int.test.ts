import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_KEY_SECRET, seedDemoKey } from "../../db/seed";
import { apiKeys } from "../../db/schema";
import { keyPepper } from "../env";
import { createKey, revokeKey } from "../keys/service";
import { demoMarketPerFile } from "../testing/proxy-process";

/**
 * The proxy as its own process (as in production) against the real backend
 * (the app's tRPC router over a fresh database) and the demo upstream,
 * through the official openai client.
 */

const m = demoMarketPerFile();
let buyerOrgId: string;

const client = (apiKey = DEMO_KEY_SECRET) => new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey, maxRetries: 0 });

async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { status: err.status, error: err.error as { code: string; type: string } };
    throw err;
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  await seedDemoKey(m.backend.t.db, keyPepper());
  const [key] = await m.backend.t.db.select().from(apiKeys);
  buyerOrgId = key!.orgId;
});

describe("the proxy process against the real backend", () => {
  it("lists the published listings with prices per token and energy", async () => {
    const models = await client().models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["demo-provider/llama-3.1-8b", "demo-provider/demo-embed-small"]));
    const m = models.data.find((x) => x.id === "demo-provider/llama-3.1-8b") as unknown as { pricing: { prompt: string }; energy: { tokens_per_watt: number } };
    // $0.05 per 1M input tokens (the seed's current price) = $0.00000005 per token.
    expect(m.pricing.prompt).toBe("0.00000005");
    expect(m.energy.tokens_per_watt).toBe(6.5);
  });

  it("401 for an unknown key (resolved by the backend)", async () => {
    expect(
      await failure(client("tm_not_a_real_key").chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "x" }] })),
    ).toMatchObject({
      status: 401,
      error: { code: "invalid_api_key", type: "authentication_error" },
    });
  });

  it("404 for an unknown model and 403 outside the key's allowlist", async () => {
    expect(await failure(client().chat.completions.create({ model: "nobody/nothing", messages: [{ role: "user", content: "x" }] }))).toMatchObject({
      status: 404,
      error: { code: "model_not_found" },
    });
    const narrow = await createKey(m.backend.t.db, { pepper: keyPepper(), orgId: buyerOrgId, userId: null, name: "Qwen only", modelAllowlist: ["qwen2.5-7b"] });
    expect(await failure(client(narrow.secret).chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "x" }] }))).toMatchObject({
      status: 403,
      error: { code: "model_not_allowed", type: "permission_error" },
    });
  });

  it("400 naming the bad field, and naming what a model serves when it does not serve the endpoint", async () => {
    expect(await failure(client().chat.completions.create({ model: "llama-3.1-8b", messages: [] }))).toMatchObject({
      status: 400,
      error: { code: "invalid_value", type: "invalid_request_error" },
    });
    expect(await failure(client().embeddings.create({ model: "demo-provider/llama-3.1-8b", input: "x" }))).toMatchObject({
      status: 400,
      error: { code: "model_not_supported", param: "model", message: expect.stringContaining("it serves chat completions") },
    });
  });

  it("429 with Retry-After and x-ratelimit-* past the key's requests per minute", async () => {
    const key = await createKey(m.backend.t.db, { pepper: keyPepper(), orgId: buyerOrgId, userId: null, name: "One a minute", rpmLimit: 1 });
    const call = () =>
      fetch(`${m.proxy.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "llama-3.1-8b", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }),
      });
    await (await call()).text();
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({
      error: { message: expect.stringMatching(/requests per minute/), type: "rate_limit_error", param: null, code: "rate_limit_exceeded" },
    });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("x-ratelimit-limit-requests")).toBe("1");
    expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(limited.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("honours a revocation within 5 seconds", async () => {
    const key = await createKey(m.backend.t.db, { pepper: keyPepper(), orgId: buyerOrgId, userId: null, name: "Soon revoked" });
    const info = await fetch(`${m.proxy.url}/v1/key`, { headers: { authorization: `Bearer ${key.secret}` } });
    expect(info.status).toBe(200);
    await revokeKey(m.backend.t.db, { orgId: buyerOrgId, keyId: key.id });
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 6_000) {
      status = (await fetch(`${m.proxy.url}/v1/key`, { headers: { authorization: `Bearer ${key.secret}` } })).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
  });
});
