import { describe, expect, it } from "vitest";
import { MessagesStream, messagesErrorType, messagesJson, stopReason } from "./answer";

/** The answer translation alone: stop reasons, errors, and a stream translator fed whatever an upstream may send. */

const ctx = { stop: ["END"] };
const meta = { requestId: "0190a0b0-0000-7000-8000-000000000001", model: "prov/m", started: 0, promptTokens: 12 };
const bill = { costNano: 1234n, estimated: false, promptTokens: 12, outputTokens: 5, cachedTokens: 4 };

/** A chunk as the relay hands it over: one whole SSE event. */
const sse = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`;

/** The SSE text as [event name, data] pairs. */
function events(text: string) {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((e) => {
      const [name, data] = e.split("\n");
      return [name!.slice("event: ".length), JSON.parse(data!.slice("data: ".length))] as [string, Record<string, unknown>];
    });
}

describe("stop reasons from chat finish_reason", () => {
  it.each([
    ["stop", undefined, "end_turn", null],
    ["length", undefined, "max_tokens", null],
    ["tool_calls", undefined, "tool_use", null],
    ["function_call", undefined, "tool_use", null],
    ["content_filter", undefined, "refusal", null],
    ["stop", "END", "stop_sequence", "END"],
    ["stop", "OTHER", "end_turn", null],
    [null, undefined, "end_turn", null],
  ])("%s (matched %s) → %s", (finish, matched, reason, sequence) => {
    expect(stopReason({ finish_reason: finish, stop_reason: matched }, ctx)).toEqual({ stop_reason: reason, stop_sequence: sequence });
  });
});

describe("errors", () => {
  it.each([
    [400, "invalid_request_error"],
    [401, "authentication_error"],
    [402, "billing_error"],
    [403, "permission_error"],
    [404, "not_found_error"],
    [413, "request_too_large"],
    [429, "rate_limit_error"],
    [500, "api_error"],
    [502, "api_error"],
    [503, "overloaded_error"],
  ])("%i → %s", (status, type) => expect(messagesErrorType(status)).toBe(type));
});

describe("a non-streamed answer", () => {
  it("text and tool calls become blocks; unreadable arguments become {}; usage splits cache reads out of input_tokens", () => {
    const answer = {
      choices: [
        {
          message: {
            content: "Let me look.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
              { id: "call_2", type: "function", function: { name: "g", arguments: "not json" } },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
    };
    expect(messagesJson(answer, bill, ctx, meta)).toEqual({
      id: "msg_0190a0b0000070008000000000000001",
      type: "message",
      role: "assistant",
      model: "prov/m",
      content: [
        { type: "text", text: "Let me look." },
        { type: "tool_use", id: "call_1", name: "f", input: { a: 1 } },
        { type: "tool_use", id: "call_2", name: "g", input: {} },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 8, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 0, cost: "0.000001234" },
    });
  });
});

describe("the stream translator", () => {
  it("text, then two tool calls: one block open at a time, input_json_delta per argument piece, usage with cost at the end", () => {
    const s = new MessagesStream(ctx, meta);
    let text = s.start();
    for (const chunk of [
      { choices: [{ delta: { role: "assistant", content: "" } }] },
      { choices: [{ delta: { content: "Hi" } }] },
      { choices: [{ delta: { content: " there" } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: "" } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: "1}" } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 1, id: "call_b", function: { name: "g", arguments: "{}" } }] } }] },
      { choices: [{ delta: {}, finish_reason: "tool_calls" }] },
    ])
      text += s.push(sse(chunk));
    text += s.end(bill);
    const got = events(text);
    expect(got.map(([name]) => name)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(got[0]![1]).toMatchObject({
      message: { id: "msg_0190a0b0000070008000000000000001", model: "prov/m", usage: { input_tokens: 12, output_tokens: 0 } },
    });
    expect(got[5]![1]).toEqual({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "call_a", name: "f", input: {} } });
    expect(got[7]![1]).toEqual({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "1}" } });
    expect(got[12]![1]).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 8, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 0, cost: "0.000001234" },
    });
  });

  it("never throws on what a hostile upstream sends, and still closes the message", () => {
    const hostile: unknown[] = [
      null,
      42,
      "text",
      [],
      {},
      { choices: null },
      { choices: [null] },
      { choices: [{ delta: null }] },
      { choices: [{ delta: { content: 7 } }] },
      { choices: [{ delta: { tool_calls: "x" } }] },
      { choices: [{ delta: { tool_calls: [null, 1, { index: "x", function: 5 }, { index: 1e300, function: { name: 3, arguments: {} } }] } }] },
      { choices: [{ delta: { content: "\u0000\ud800" }, finish_reason: 9 }] },
      { choices: [{ delta: { tool_calls: [{ index: -1, function: { arguments: "}" } }] }, finish_reason: "length" }] },
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) hostile.push(hostile[Math.floor(random() * hostile.length)]);
    const s = new MessagesStream(ctx, meta);
    let text = s.start();
    for (const chunk of hostile) text += s.push(sse(chunk));
    // Bytes that are no JSON at all, and events with no data line.
    text += s.push(Buffer.from("data: {not json\n\n: comment\n\nevent: x\n\n"));
    text += s.end(bill);
    const got = events(text);
    expect(got.at(-1)![0]).toBe("message_stop");
    expect(got.at(-2)![1]).toMatchObject({ delta: { stop_reason: "max_tokens" } });
    // Every block opened is closed, once.
    const opened = got.filter(([n]) => n === "content_block_start").map(([, d]) => d.index);
    const closed = got.filter(([n]) => n === "content_block_stop").map(([, d]) => d.index);
    expect(new Set(closed).size).toBe(closed.length);
    expect(closed.sort()).toEqual(opened.sort());
  });

  it("a stream that breaks ends with Anthropic's error event", () => {
    const s = new MessagesStream(ctx, meta);
    expect(events(s.fail({ status: 502, type: "api_error", code: "upstream_error", message: "broke" }))).toEqual([
      ["error", { type: "error", error: { type: "api_error", message: "broke", code: "upstream_error" } }],
    ]);
  });
});
