import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../usage/contract";
import { checkEnergy, type EnergyClaim, energyClaim, finishReasonOf, jsonFinishReason } from "./finish-energy";
import { SseRelay } from "./sse";

const header = (value: unknown): EnergyClaim => ({ source: "x-energy-joules header", value });
const body = (value: unknown): EnergyClaim => ({ source: "usage.energy_joules", value });

describe("checkEnergy: what is recorded, and why the rest is ignored", () => {
  const rows: [string, EnergyClaim, number, { joules: number } | { problem: string }][] = [
    ["a decimal header", header("12.5"), 100, { joules: 12.5 }],
    ["zero", header("0"), 100, { joules: 0 }],
    ["an exponent", header("2.5e1"), 100, { joules: 25 }],
    ["spaces around it", header(" 7 "), 100, { joules: 7 }],
    ["a number in the body", body(3.25), 100, { joules: 3.25 }],
    ["exactly 100 J per token", body(10_000), 100, { joules: 10_000 }],
    ["no tokens: bounded as one", header("100"), 0, { joules: 100 }],
    ["NaN text", header("NaN"), 100, { problem: 'x-energy-joules header: "NaN" is not a decimal number of joules' }],
    ["Infinity text", header("Infinity"), 100, { problem: 'x-energy-joules header: "Infinity" is not a decimal number of joules' }],
    ["hex", header("0x10"), 100, { problem: 'x-energy-joules header: "0x10" is not a decimal number of joules' }],
    ["with a unit", header("12 J"), 100, { problem: 'x-energy-joules header: "12 J" is not a decimal number of joules' }],
    ["empty", header(""), 100, { problem: 'x-energy-joules header: "" is not a decimal number of joules' }],
    ["overflows to Infinity", header("1e400"), 100, { problem: "x-energy-joules header: Infinity is not a finite number of joules" }],
    ["negative header", header("-5"), 100, { problem: "x-energy-joules header: -5 J is negative" }],
    ["negative body", body(-0.5), 100, { problem: "usage.energy_joules: -0.5 J is negative" }],
    ["absurd", header("1e30"), 100, { problem: "x-energy-joules header: 1e+30 J is more than 100 J per token (100 tokens billed)" }],
    ["absurd per token", body(10_001), 100, { problem: "usage.energy_joules: 10001 J is more than 100 J per token (100 tokens billed)" }],
    ["text in the body", body("12"), 100, { problem: "usage.energy_joules: must be a number of joules (got string)" }],
    ["an object in the body", body({ j: 1 }), 100, { problem: "usage.energy_joules: must be a number of joules (got object)" }],
    ["the header twice", header(["1", "2"]), 100, { problem: "x-energy-joules header: must be a number of joules (got several headers)" }],
  ];
  it.each(rows)("%s", (_label, claim, tokens, expected) => expect(checkEnergy(claim, tokens)).toEqual(expected));
});

describe("energyClaim: the header wins over the body", () => {
  const rows: [string, string | string[] | undefined, unknown, EnergyClaim | null][] = [
    ["header only", "4", undefined, header("4")],
    ["body only", undefined, 4, body(4)],
    ["both", "4", 5, header("4")],
    ["body null", undefined, null, null],
    ["neither", undefined, undefined, null],
  ];
  it.each(rows)("%s", (_label, h, b, expected) => expect(energyClaim(h, b)).toEqual(expected));
});

describe("finishReasonOf: the upstream's reason normalised, how the request ended first", () => {
  const rows: [string, UsageEvent["status"], string | null, boolean, string][] = [
    ["stop", "ok", "stop", true, "stop"],
    ["length", "ok", "length", true, "length"],
    ["tool calls", "ok", "tool_calls", true, "tool_calls"],
    ["legacy function call", "ok", "function_call", true, "tool_calls"],
    ["content filter", "ok", "content_filter", true, "content_filter"],
    ["an end-of-turn dialect", "ok", "end_turn", true, "stop"],
    ["a max-tokens dialect", "ok", "max_tokens", true, "length"],
    ["the upstream's own error", "ok", "error", true, "error"],
    ["something new", "ok", "thinking_budget", true, "unknown"],
    ["an inherited name is not a reason", "ok", "constructor", true, "unknown"],
    ["none, but the stream said [DONE]", "ok", null, true, "unknown"],
    ["none and no [DONE]: cut off", "ok", null, false, "error"],
    ["the buyer left", "aborted", "stop", false, "aborted"],
    ["the stream broke", "error", "length", false, "error"],
  ];
  it.each(rows)("%s", (_label, status, upstream, sawEnd, expected) => expect(finishReasonOf(status, upstream, sawEnd)).toBe(expected));
});

describe("jsonFinishReason: choices[0]'s, by a byte search", () => {
  const rows: [string, string, string | null][] = [
    ["OpenAI answer", '{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"},{"finish_reason":"length"}]}', "stop"],
    ["spaced", '{"choices":[{"finish_reason": "tool_calls"}]}', "tool_calls"],
    ["null", '{"choices":[{"finish_reason":null}]}', null],
    ["absent", '{"choices":[{"message":{"content":"hi"}}]}', null],
    ["only inside content (quotes escaped)", '{"choices":[{"message":{"content":"\\"finish_reason\\":\\"stop\\""}}]}', null],
    ["a number", '{"choices":[{"finish_reason":3}]}', null],
    ["too long to be a reason", `{"choices":[{"finish_reason":"${"x".repeat(40)}"}]}`, null],
  ];
  it.each(rows)("%s", (_label, raw, expected) => expect(jsonFinishReason(Buffer.from(raw))).toBe(expected));
});

describe("SseRelay keeps the stream's last finish reason and its usage chunk's energy", () => {
  const feed = (events: string[]) => {
    const relay = new SseRelay("chat", () => true);
    relay.push(Buffer.from(events.map((e) => `data: ${e}\n\n`).join("")));
    return relay;
  };
  it("on content chunks, with usage in a chunk of its own", () => {
    const r = feed([
      '{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}',
      '{"choices":[{"delta":{},"finish_reason":"length"}]}',
      '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"energy_joules":0.75}}',
      "[DONE]",
    ]);
    expect([r.finishReason, r.energyJoules, r.sawDone]).toEqual(["length", 0.75, true]);
  });
  it("riding on the usage chunk", () => {
    const r = feed([
      '{"choices":[{"delta":{"content":"hi"},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"energy_joules":"x"}}',
    ]);
    expect([r.finishReason, r.energyJoules, r.sawDone]).toEqual(["tool_calls", "x", false]);
  });
  it("none at all", () => {
    const r = feed(['{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}']);
    expect([r.finishReason, r.energyJoules]).toEqual([null, undefined]);
  });
});
