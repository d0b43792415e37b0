import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validate } from "../../inputs";
import { messagesToChat } from "./request";

/** The request translation alone: what each Messages field becomes in chat, and that no body makes it throw. */

const base = { model: "prov/m", max_tokens: 10 };
const chatOf = (body: Record<string, unknown>) => {
  const r = messagesToChat({ ...base, ...body });
  if (!("chat" in r)) throw new Error(`refused: ${r.message}`);
  return r.chat;
};

describe("Messages → chat", () => {
  it("system blocks join into one system message; sampling, stop sequences and metadata carry over; top_k and thinking are dropped", () => {
    expect(
      chatOf({
        system: [
          { type: "text", text: "One." },
          { type: "text", text: "Two.", cache_control: { type: "ephemeral" } },
        ],
        messages: [{ role: "user", content: "hi" }],
        temperature: 0.2,
        top_p: 0.9,
        top_k: 5,
        thinking: { type: "enabled", budget_tokens: 1024 },
        stop_sequences: ["\n\nHuman:"],
        metadata: { user_id: "u-1" },
        stream: true,
      }),
    ).toEqual({
      model: "prov/m",
      max_tokens: 10,
      messages: [
        { role: "system", content: "One.\nTwo." },
        { role: "user", content: "hi" },
      ],
      temperature: 0.2,
      top_p: 0.9,
      stop: ["\n\nHuman:"],
      user: "u-1",
      stream: true,
    });
  });

  it("tool results: chat tool messages first, an error flagged in the text, a result's images after them as user content; thinking blocks dropped", () => {
    const img = { type: "image", source: { type: "url", url: "https://x.test/a.png" } };
    const chat = chatOf({
      messages: [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hm", signature: "s" },
            { type: "text", text: "Calling." },
            { type: "tool_use", id: "t1", name: "a", input: { q: 1 } },
            { type: "tool_use", id: "t2", name: "b", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "done" }, img] },
            { type: "tool_result", tool_use_id: "t2", content: "no such file", is_error: true },
            { type: "text", text: "and now?" },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: "Calling.",
        tool_calls: [
          { id: "t1", type: "function", function: { name: "a", arguments: '{"q":1}' } },
          { id: "t2", type: "function", function: { name: "b", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "t1", content: "done" },
      { role: "tool", tool_call_id: "t2", content: "Error: no such file" },
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "https://x.test/a.png" } },
          { type: "text", text: "and now?" },
        ],
      },
    ]);
  });

  it.each([
    [{ type: "auto" }, { tool_choice: "auto" }],
    [
      { type: "any", disable_parallel_tool_use: true },
      { tool_choice: "required", parallel_tool_calls: false },
    ],
    [{ type: "tool", name: "f" }, { tool_choice: { type: "function", function: { name: "f" } } }],
    [{ type: "none" }, { tool_choice: "none" }],
  ])("tool_choice %j → %j", (choice, expected) => {
    const chat = chatOf({ messages: [{ role: "user", content: "x" }], tools: [{ name: "f", input_schema: { type: "object" } }], tool_choice: choice });
    expect(chat).toMatchObject({ tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }], ...expected });
  });

  it("a tool_use input nested past what JSON.stringify can read is refused, not thrown", () => {
    let input: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) input = { a: input };
    const r = messagesToChat({
      ...base,
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "ok" }] },
      ],
    });
    expect(r).toMatchObject({ status: 400, param: "messages[1].content[0].input" });
  });

  it("whatever the body, it answers a valid chat request or a 400 naming a field; it never throws", () => {
    const block = fc.oneof(
      fc.record({ type: fc.constantFrom("text", "image", "tool_use", "tool_result", "thinking", "document", "x"), text: fc.anything() }, { requiredKeys: [] }),
      fc.record({
        type: fc.constant("image"),
        source: fc.record({ type: fc.constantFrom("base64", "url"), media_type: fc.string(), data: fc.string(), url: fc.string() }),
      }),
      fc.record({ type: fc.constant("tool_result"), tool_use_id: fc.constantFrom("a", "b"), content: fc.anything(), is_error: fc.boolean() }),
      fc.record({ type: fc.constant("tool_use"), id: fc.constantFrom("a", "b"), name: fc.string(), input: fc.anything() }),
      fc.anything(),
    );
    const message = fc.record({
      role: fc.constantFrom("user", "assistant", "system", 3),
      content: fc.oneof(fc.string(), fc.array(block, { maxLength: 4 }), fc.anything()),
    });
    const body = fc.record(
      {
        model: fc.oneof(fc.constant("prov/m"), fc.anything()),
        max_tokens: fc.oneof(fc.integer({ min: -2, max: 1e9 }), fc.anything()),
        messages: fc.oneof(fc.array(message, { maxLength: 5 }), fc.anything()),
        system: fc.anything(),
        tools: fc.oneof(fc.array(fc.record({ name: fc.string(), input_schema: fc.anything(), type: fc.anything() }, { requiredKeys: [] })), fc.anything()),
        tool_choice: fc.anything(),
        stop_sequences: fc.anything(),
        temperature: fc.anything(),
        stream: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(body, (b) => {
        const r = messagesToChat(b as Record<string, unknown>);
        if ("chat" in r) return expect(validate("chat", r.chat)).toBeNull();
        expect(r.status).toBe(400);
        expect(r.message.startsWith(`${r.param}: `)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
