import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { CLAUDE_BUYER, claudeProxyPerTest, reported } from "./testing";

/**
 * POST /v1/messages refusing, through the official @anthropic-ai/sdk and plain requests: bad input answers
 * Anthropic's invalid_request_error naming the field and holds, sends and bills nothing; 401, 402, 403, 404 and
 * 429 come in Anthropic's error types and the SDK's error classes. What is served: messages.test.ts.
 */

const { secret: SECRET, org: ORG, model: MODEL } = CLAUDE_BUYER;
const { t, claude } = claudeProxyPerTest();

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] },
};

async function post(body: unknown, key: string | null = SECRET) {
  const r = await fetch(`${t.gateway.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as { type: string; error: { type: string; message: string } } };
}

const user = (content: unknown) => ({ role: "user", content });
const toolUse = { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] };

describe("bad input: Anthropic's invalid_request_error naming the field, nothing held or billed", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["missing max_tokens", { model: MODEL, messages: [user("hi")] }, /^max_tokens: is required/],
    ["max_tokens not a whole number", { model: MODEL, max_tokens: 1.5, messages: [user("hi")] }, /^max_tokens: must be a whole number/],
    ["no messages", { model: MODEL, max_tokens: 5, messages: [] }, /^messages: must be a non-empty array/],
    ["a system role in messages", { model: MODEL, max_tokens: 5, messages: [{ role: "system", content: "x" }] }, /^messages\[0\]\.role: .*top-level `system`/],
    ["an unknown role", { model: MODEL, max_tokens: 5, messages: [{ role: "tool", content: "x" }] }, /^messages\[0\]\.role: must be "user" or "assistant"/],
    ["a document block", { model: MODEL, max_tokens: 5, messages: [user([{ type: "document", source: {} }])] }, /^messages\[0\]\.content\[0\]\.type: /],
    ["tool_use from the user", { model: MODEL, max_tokens: 5, messages: [user(toolUse.content)] }, /^messages\[0\]\.content\[0\]\.type: /],
    [
      "an image block in an assistant turn",
      { model: MODEL, max_tokens: 5, messages: [user("a"), { role: "assistant", content: [{ type: "image" }] }] },
      /^messages\[1\]\.content\[0\]\.type: /,
    ],
    [
      "an image of an unknown media type",
      { model: MODEL, max_tokens: 5, messages: [user([{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "AA==" } }])] },
      /^messages\[0\]\.content\[0\]\.source\.media_type/,
    ],
    [
      "a tool_result for an unknown tool_use id",
      { model: MODEL, max_tokens: 5, messages: [user("a"), toolUse, user([{ type: "tool_result", tool_use_id: "toolu_nope", content: "x" }])] },
      /^messages\[2\]\.content\[0\]\.tool_use_id: "toolu_nope" does not match/,
    ],
    [
      "a tool_use left unanswered",
      { model: MODEL, max_tokens: 5, messages: [user("a"), toolUse, user("next")] },
      /^messages\[2\]\.content: must answer every tool_use .*toolu_1/,
    ],
    [
      "a server tool",
      { model: MODEL, max_tokens: 5, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [user("a")] },
      /^tools\[0\]\.type: server tools/,
    ],
    ["a tool without input_schema", { model: MODEL, max_tokens: 5, tools: [{ name: "x" }], messages: [user("a")] }, /^tools\[0\]\.input_schema/],
    [
      "tool_choice naming no tool",
      { model: MODEL, max_tokens: 5, tools: [WEATHER], tool_choice: { type: "tool", name: "nope" }, messages: [user("a")] },
      /^tool_choice\.name/,
    ],
    ["a system prompt of the wrong shape", { model: MODEL, max_tokens: 5, system: [{ type: "image" }], messages: [user("a")] }, /^system\[0\]\.type/],
  ];
  it.each(cases)("%s", async (_, body, message) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringMatching(message) } });
    expect(t.backend.calls.reserve ?? 0).toBe(0);
    expect(t.capture.bodies).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.backend.events.size).toBe(0);
  });

  it("malformed JSON is an invalid_request_error too", async () => {
    const r = await fetch(`${t.gateway.url}/v1/messages`, { method: "POST", headers: { "x-api-key": SECRET }, body: "{not json" });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});

describe("refusals in Anthropic's shape, through the SDK's error classes", () => {
  const ask = { model: MODEL, max_tokens: 5, messages: [{ role: "user" as const, content: "hi" }] };
  async function refused(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      if (err instanceof Anthropic.APIError) return { status: err.status, error: err.error, cls: err.constructor.name };
      throw err;
    }
    throw new Error("expected the call to fail");
  }

  it("401 for a missing or unknown key", async () => {
    expect(await post(ask, null)).toMatchObject({
      status: 401,
      body: { type: "error", error: { type: "authentication_error", message: expect.stringMatching(/x-api-key/) } },
    });
    expect(await refused(claude({ apiKey: "sk-nobody" }).messages.create(ask))).toMatchObject({
      status: 401,
      cls: "AuthenticationError",
      error: { type: "error", error: { type: "authentication_error" } },
    });
  });

  it("402 (no credit) is billing_error", async () => {
    t.backend.balances.set(ORG, 0n);
    expect(await refused(claude().messages.create(ask))).toMatchObject({
      status: 402,
      cls: "PaymentRequiredError",
      error: { type: "error", error: { type: "billing_error", message: expect.stringMatching(/credit/) } },
    });
    expect(t.backend.events.size).toBe(0);
  });

  it("403 outside the key's allowlist is permission_error; 404 for an unknown model is not_found_error", async () => {
    t.backend.addKey("sk-narrow", ORG, { modelAllowlist: ["qwen2.5-7b"] });
    expect(await refused(claude({ apiKey: "sk-narrow" }).messages.create(ask))).toMatchObject({
      status: 403,
      cls: "PermissionDeniedError",
      error: { error: { type: "permission_error" } },
    });
    expect(await refused(claude().messages.create({ ...ask, model: "nobody/nothing" }))).toMatchObject({
      status: 404,
      error: { error: { type: "not_found_error" } },
    });
  });

  it("429 past the key's requests per minute is rate_limit_error with retry-after", async () => {
    t.backend.addKey("sk-slow", ORG, { rpmLimit: 1 });
    await claude({ apiKey: "sk-slow" }).messages.create(ask);
    const r = await fetch(`${t.gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "sk-slow", "content-type": "application/json" },
      body: JSON.stringify(ask),
    });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await r.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    await reported(t.backend, 1);
  });
});
