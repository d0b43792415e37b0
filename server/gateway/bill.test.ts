import { describe, expect, it } from "vitest";
import { type Bill, withReasoning } from "./bill";
import { responseFromChat } from "./dialects/responses/answer";
import { parseResponsesRequest } from "./dialects/responses/request";
import { ResponsesStream } from "./dialects/responses/stream";

/**
 * Reasoning tokens an upstream reports (OpenAI's `usage.completion_tokens_details.reasoning_tokens`) as the Responses
 * API's `usage.output_tokens_details.reasoning_tokens`: read from hostile usage without ever changing what is billed.
 */

const BILL: Bill = { costNano: 1234n, estimated: false, promptTokens: 10, outputTokens: 50, cachedTokens: 2 };
const META = { requestId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", model: "prov/model", started: 1_700_000_000_000, promptTokens: 10 };
const parsed = parseResponsesRequest({ model: "m", input: "x" });
if (!("chat" in parsed)) throw new Error("the plain request must parse");
const CTX = parsed.ctx;
const usage = (reasoning: unknown) => ({ prompt_tokens: 10, completion_tokens: 50, completion_tokens_details: { reasoning_tokens: reasoning } });

describe("withReasoning", () => {
  it("takes the reported reasoning tokens as part of the output billed: tokens and cost unchanged", () => {
    expect(withReasoning(BILL, usage(30))).toEqual({ ...BILL, reasoningTokens: 30 });
    expect(withReasoning(BILL, usage(50))).toEqual({ ...BILL, reasoningTokens: 50 });
  });

  it.each<[string, unknown]>([
    ["no usage", undefined],
    ["usage not an object", "lots"],
    ["no details", { completion_tokens: 50 }],
    ["details null", { completion_tokens_details: null }],
    ["zero", usage(0)],
    ["negative", usage(-5)],
    ["fractional", usage(2.5)],
    ["a string", usage("30")],
    ["beyond a safe integer", usage(2 ** 60)],
    ["NaN-like", usage(Number.NaN)],
  ])("reports none for %s", (_, u) => {
    expect(withReasoning(BILL, u)).toEqual(BILL);
  });

  it("never more than the output billed (the upstream's claim is capped, not believed)", () => {
    expect(withReasoning(BILL, usage(9_999))).toEqual({ ...BILL, reasoningTokens: 50 });
  });

  it("nothing when the usage was estimated: no usage was believed, so neither is its breakdown", () => {
    expect(withReasoning({ ...BILL, estimated: true }, usage(30))).toEqual({ ...BILL, estimated: true });
  });
});

describe("the Responses answer's usage", () => {
  const answer = { choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: usage(30) };

  it("non-streamed: output_tokens_details.reasoning_tokens from the upstream's usage, within output_tokens", () => {
    const r = responseFromChat(answer, BILL, CTX, META);
    expect(r.usage).toMatchObject({ output_tokens: 50, output_tokens_details: { reasoning_tokens: 30 }, cost: "0.000001234" });
    expect(responseFromChat({ ...answer, usage: usage("x") }, BILL, CTX, META).usage).toMatchObject({ output_tokens_details: { reasoning_tokens: 0 } });
  });

  it("streamed: response.completed carries the bill's reasoning tokens (the relay passes withReasoning(bill, its usage chunk's usage))", () => {
    const t = new ResponsesStream(CTX, META);
    t.push('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
    const last = t
      .end(withReasoning(BILL, usage(30)))
      .trimEnd()
      .split("\n")
      .at(-1)!;
    const completed = JSON.parse(last.slice("data: ".length)) as { type: string; response: { usage: Record<string, unknown> } };
    expect(completed.type).toBe("response.completed");
    expect(completed.response.usage).toMatchObject({ output_tokens: 50, output_tokens_details: { reasoning_tokens: 30 } });
  });
});
