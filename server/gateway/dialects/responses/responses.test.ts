import fc from "fast-check";
import { accumulateResponse } from "openai/lib/responses/ResponseAccumulator";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import type { Bill } from "../../bill";
import { isObject } from "../../inputs";
import { validate } from "../../inputs";
import { parseResponsesRequest, TRANSLATED_FIELDS } from "./request";
import { ResponsesStream } from "./stream";

/**
 * The Responses dialect against generated input: whatever an upstream streams
 * (well-formed chunks, wrong types, garbage, cut anywhere), the translator never
 * throws and emits only events the openai SDK's own accumulator takes; whatever a
 * client sends, the request translator answers a chat body or an error naming a field.
 */

const BILL: Bill = { costNano: 1234n, estimated: false, promptTokens: 10, outputTokens: 5, cachedTokens: 2 };
const META = { requestId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", model: "prov/model", started: 1_700_000_000_000, promptTokens: 12 };
const parsed = parseResponsesRequest({ model: "m", input: "x" });
if (!("chat" in parsed)) throw new Error("the plain request must parse");
const CTX = parsed.ctx;

/** The SSE text as (event name, data) pairs, checking each is well formed. */
function events(text: string): ResponseStreamEvent[] {
  const out: ResponseStreamEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (!block) continue;
    const [name, data, ...rest] = block.split("\n");
    expect(rest).toEqual([]);
    const event = JSON.parse(data!.slice("data: ".length)) as ResponseStreamEvent;
    expect(name).toBe(`event: ${event.type}`);
    out.push(event);
  }
  return out;
}

const anyJson = fc.jsonValue({ maxDepth: 3 });
const toolCall = fc.record(
  {
    index: fc.oneof(fc.nat(3), fc.constant(-1), fc.constant(1e300), anyJson),
    id: fc.oneof(fc.string(), anyJson),
    type: fc.constant("function"),
    function: fc.oneof(fc.record({ name: fc.oneof(fc.string(), anyJson), arguments: fc.oneof(fc.string(), anyJson) }, { requiredKeys: [] }), anyJson),
  },
  { requiredKeys: [] },
);
const delta = fc.record(
  {
    role: fc.constant("assistant"),
    content: fc.oneof(fc.string(), fc.constant(null), anyJson),
    refusal: fc.oneof(fc.string(), anyJson),
    tool_calls: fc.oneof(fc.array(toolCall, { maxLength: 3 }), anyJson),
  },
  { requiredKeys: [] },
);
const chunk = fc.oneof(
  fc
    .record({
      choices: fc.array(
        fc.record(
          { index: fc.nat(2), delta, finish_reason: fc.oneof(fc.constantFrom("stop", "length", "tool_calls", "content_filter", null), anyJson) },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
    })
    .map((c) => `data: ${JSON.stringify(c)}\n\n`),
  anyJson.map((j) => `data: ${JSON.stringify(j)}\n\n`),
  fc.string().map((s) => `data: ${s}\n\n`),
  fc.constant("data: [DONE]\n\n"),
  fc.string(),
);

describe("the Responses stream translator under generated upstream streams", () => {
  it("never throws, and the openai SDK's accumulator takes every event it emits, through to the final response", () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), fc.boolean(), fc.boolean(), (chunks, asLatin1, failing) => {
        const t = new ResponsesStream(CTX, META);
        let text = "";
        for (const c of chunks) {
          const bytes = Buffer.from(c, "utf8");
          text += t.push(asLatin1 ? bytes.toString("latin1") : bytes);
        }
        text += failing ? t.fail({ status: 502, type: "api_error", code: "upstream_error", message: "broke" }, BILL) : t.end(BILL);
        const all = events(text);
        expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
        let snapshot: ReturnType<typeof accumulateResponse> | undefined;
        for (const e of all) snapshot = accumulateResponse(e, snapshot);
        const last = all.at(-1)!;
        expect(["response.completed", "response.incomplete", "response.failed"]).toContain(last.type);
        expect((last as unknown as { response: { usage: { cost: string } } }).response.usage.cost).toBe("0.000001234");
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps text and function calls apart, each in its own output item, in the order they began", () => {
    const t = new ResponsesStream(CTX, META);
    const d = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    let text = t.push(
      Buffer.from(d({ content: "Let me check. " }) + d({ tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"a":' } }] })),
    );
    text += t.push(
      d({ tool_calls: [{ index: 1, id: "call_b", function: { name: "g", arguments: "{}" } }] }) +
        d({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }, "tool_calls"),
    );
    text += t.end(BILL);
    const done = events(text).at(-1) as Extract<ResponseStreamEvent, { type: "response.completed" }>;
    expect(done.response.output).toEqual([
      expect.objectContaining({ type: "message", content: [expect.objectContaining({ type: "output_text", text: "Let me check. " })] }),
      expect.objectContaining({ type: "function_call", call_id: "call_a", name: "f", arguments: '{"a":1}', status: "completed" }),
      expect.objectContaining({ type: "function_call", call_id: "call_b", name: "g", arguments: "{}", status: "completed" }),
    ]);
    expect(done.response.usage).toMatchObject({ input_tokens: 10, output_tokens: 5, input_tokens_details: { cached_tokens: 2 }, total_tokens: 15 });
  });
});

describe("text deltas passed through as the upstream escaped them", () => {
  // The usual delta is not decoded: its JSON string contents go into the event as they came, so they must be valid JSON.
  const raw = (contents: string) => `data: {"choices":[{"index":0,"delta":{"content":"${contents}"},"finish_reason":null}]}\n\n`;

  it("keeps every JSON escape, a surrogate pair split across two chunks included, and the text reads decoded", () => {
    const t = new ResponsesStream(CTX, META);
    const text = t.push(raw(String.raw`say \"hi\" \\ \/ \n\t\u00e9 `)) + t.push(raw(String.raw`\ud83d`)) + t.push(raw(String.raw`\ude00`)) + t.end(BILL);
    const all = events(text);
    const deltas = all.filter((e) => e.type === "response.output_text.delta").map((e) => (e as { delta: string }).delta);
    expect(deltas.join("")).toBe('say "hi" \\ / \n\té 😀');
    const done = all.find((e) => e.type === "response.output_text.done") as { text: string };
    expect(done.text).toBe('say "hi" \\ / \n\té 😀');
    let snapshot: ReturnType<typeof accumulateResponse> | undefined;
    for (const e of all) snapshot = accumulateResponse(e, snapshot);
    expect(snapshot!.output).toEqual([expect.objectContaining({ content: [expect.objectContaining({ text: 'say "hi" \\ / \n\té 😀' })] })]);
  });

  it.each([
    ["a raw tab", "a\tb"],
    ["an escape JSON does not have", String.raw`\x41`],
    ["a short \\u escape", String.raw`\u12`],
  ])("skips a delta with %s, as a parse would, and every event stays valid JSON", (_, contents) => {
    const t = new ResponsesStream(CTX, META);
    const all = events(t.push(raw("ok ")) + t.push(raw(contents)) + t.push(raw("done")) + t.end(BILL));
    const done = all.find((e) => e.type === "response.output_text.done") as { text: string };
    expect(done.text).toBe("ok done");
  });
});

describe("a refusal", () => {
  it("streams as a refusal part of the message, not as its text, and the SDK's accumulator takes it", () => {
    const t = new ResponsesStream(CTX, META);
    const d = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const all = events(t.push(Buffer.from(d({ refusal: "I can" }) + d({ refusal: "not." }, "stop"))) + t.end(BILL));
    expect(all.filter((e) => e.type === "response.refusal.delta").map((e) => (e as { delta: string }).delta)).toEqual(["I can", "not."]);
    let snapshot: ReturnType<typeof accumulateResponse> | undefined;
    for (const e of all) snapshot = accumulateResponse(e, snapshot);
    expect(snapshot!.output).toEqual([expect.objectContaining({ type: "message", content: [{ type: "refusal", refusal: "I cannot." }] })]);
  });
});

describe("the Responses request as a chat request", () => {
  const call = { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" };
  const ROWS: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["text input", { input: "Hi" }, { messages: [{ role: "user", content: "Hi" }] }],
    [
      "instructions first, developer as system",
      { instructions: "Be brief", input: [{ role: "developer", content: "Rules" }] },
      {
        messages: [
          { role: "system", content: "Be brief" },
          { role: "system", content: "Rules" },
        ],
      },
    ],
    [
      "an image part",
      {
        input: [
          {
            role: "user",
            content: [
              { type: "input_text", text: "Look" },
              { type: "input_image", image_url: "https://x/y.png", detail: "low" },
            ],
          },
        ],
      },
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Look" },
              { type: "image_url", image_url: { url: "https://x/y.png", detail: "low" } },
            ],
          },
        ],
      },
    ],
    [
      "function calls join the assistant turn before them; their outputs are tool messages",
      {
        input: [
          { role: "user", content: "Q" },
          { role: "assistant", content: "Checking" },
          call,
          { ...call, call_id: "call_2" },
          { type: "function_call_output", call_id: "call_1", output: "A" },
        ],
      },
      {
        messages: [
          { role: "user", content: "Q" },
          {
            role: "assistant",
            content: "Checking",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "f", arguments: "{}" } },
              { id: "call_2", type: "function", function: { name: "f", arguments: "{}" } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "A" },
        ],
      },
    ],
    [
      "function tools, tool_choice, max_output_tokens, json_schema, reasoning effort",
      {
        input: "x",
        tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: true }],
        tool_choice: { type: "function", name: "f" },
        max_output_tokens: 7,
        text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true } },
        reasoning: { effort: "low" },
      },
      {
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
        tool_choice: { type: "function", function: { name: "f" } },
        max_tokens: 7,
        response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
        reasoning_effort: "low",
      },
    ],
  ];
  for (const [label, body, chat] of ROWS) {
    it(label, () => {
      const r = parseResponsesRequest({ model: "m", ...body });
      expect("chat" in r && r.chat).toEqual({ model: "m", ...("messages" in chat ? {} : { messages: [{ role: "user", content: "x" }] }), ...chat });
    });
  }
});

describe("the Responses request translator under generated bodies", () => {
  const field = fc.constantFrom(...TRANSLATED_FIELDS, "provider", "metadata", "unknown_field");
  const body = fc.oneof(
    fc.dictionary(field, anyJson, { maxKeys: 8 }),
    fc.record({
      model: fc.constant("m"),
      input: fc.array(
        fc.record(
          {
            type: fc.constantFrom("message", "function_call", "function_call_output", "reasoning"),
            role: fc.constantFrom("user", "assistant", "system", "developer", "tool"),
            content: anyJson,
            call_id: anyJson,
            name: anyJson,
            arguments: anyJson,
            output: anyJson,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      tools: fc.array(fc.record({ type: fc.constantFrom("function", "web_search"), name: anyJson, parameters: anyJson }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
    }),
  );
  it("answers a chat request that passes chat's own checks, or an error whose message starts with the field it names", () => {
    fc.assert(
      fc.property(body, (b) => {
        const r = parseResponsesRequest(b as Record<string, unknown>);
        if ("chat" in r) {
          expect(validate("chat", r.chat)).toBeNull();
          expect(Array.isArray(r.chat.messages) && r.chat.messages.every(isObject)).toBe(true);
        } else {
          expect(r.status).toBe(400);
          expect(r.param).toBeTruthy();
          expect(r.message.startsWith(`${r.param}: `)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
