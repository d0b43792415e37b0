import { usdDecimal } from "../../../ledger/money";
import { isObject } from "../../inputs";
import { type Bill, withReasoning } from "../../bill";
import type { AnswerMeta } from "../types";
import type { ResponsesCtx } from "./request";

/**
 * The Responses API's answer objects built from a chat answer: the Response
 * (status, output items, usage with its cost) and its output items (an
 * assistant message with output_text, function calls). Shared by the JSON
 * answer and the stream's events so both say the same.
 */

type Json = Record<string, unknown>;

/** Ids derived from the request id: the same answer always carries the same ones. */
export function responseId(meta: AnswerMeta): string {
  return `resp_${meta.requestId.replaceAll("-", "")}`;
}
export function messageId(meta: AnswerMeta): string {
  return `msg_${meta.requestId.replaceAll("-", "")}`;
}
export function functionCallId(meta: AnswerMeta, index: number): string {
  return `fc_${meta.requestId.replaceAll("-", "")}_${index}`;
}

/** The usage as billed, in the Responses shape, with its cost (as chat answers carry it); reasoning tokens as the bill has them (withReasoning). */
export function responsesUsage(bill: Bill): Json {
  return {
    input_tokens: bill.promptTokens,
    input_tokens_details: { cached_tokens: bill.cachedTokens },
    output_tokens: bill.outputTokens,
    output_tokens_details: { reasoning_tokens: bill.reasoningTokens ?? 0 },
    total_tokens: bill.promptTokens + bill.outputTokens,
    cost: usdDecimal(bill.costNano),
    ...(bill.estimated ? { estimated: true } : {}),
  };
}

/** How a chat finish_reason ends a Response. */
export function ending(finish: unknown): { status: "completed" | "incomplete"; incomplete_details: Json | null } {
  if (finish === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The assistant message item; its parts are output text and a refusal, in the order they came. */
export function messageItem(meta: AnswerMeta, parts: { type: "output_text" | "refusal"; value: string }[], status: string): Json {
  return {
    type: "message",
    id: messageId(meta),
    status,
    role: "assistant",
    content: parts.map((p) => (p.type === "output_text" ? { type: p.type, text: p.value, annotations: [], logprobs: [] } : { type: p.type, refusal: p.value })),
  };
}

export function functionCallItem(meta: AnswerMeta, index: number, callId: string, name: string, args: string, status: string): Json {
  return { type: "function_call", id: functionCallId(meta, index), call_id: callId, name, arguments: args, status };
}

/** The Response object: the request's settings echoed, the output so far, usage once billed. */
export function responseObject(
  ctx: ResponsesCtx,
  meta: AnswerMeta,
  state: { status: string; output: Json[]; usage: Json | null; incomplete_details?: Json | null; error?: Json | null },
): Json {
  return {
    id: responseId(meta),
    object: "response",
    created_at: Math.floor(meta.started / 1000),
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    instructions: ctx.instructions,
    max_output_tokens: ctx.maxOutputTokens,
    metadata: ctx.metadata,
    model: meta.model,
    output: state.output,
    parallel_tool_calls: ctx.parallelToolCalls,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: ctx.temperature,
    text: ctx.text,
    tool_choice: ctx.toolChoice,
    tools: ctx.tools,
    top_p: ctx.topP,
    truncation: "disabled",
    usage: state.usage,
  };
}

/** A non-streamed chat answer (hostile input: anything may be missing) as a Response. */
export function responseFromChat(answer: Json, bill: Bill, ctx: ResponsesCtx, meta: AnswerMeta): Json {
  const choice = Array.isArray(answer.choices) && isObject(answer.choices[0]) ? answer.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const output: Json[] = [];
  const parts: { type: "output_text" | "refusal"; value: string }[] = [];
  if (typeof message.content === "string" && message.content) parts.push({ type: "output_text", value: message.content });
  if (typeof message.refusal === "string" && message.refusal) parts.push({ type: "refusal", value: message.refusal });
  if (parts.length) output.push(messageItem(meta, parts, "completed"));
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call: unknown, i: number) => {
      if (!isObject(call) || !isObject(call.function)) return;
      const fn = call.function;
      const callId = typeof call.id === "string" && call.id ? call.id : `call_${meta.requestId.replaceAll("-", "")}_${i}`;
      output.push(
        functionCallItem(meta, i, callId, typeof fn.name === "string" ? fn.name : "", typeof fn.arguments === "string" ? fn.arguments : "", "completed"),
      );
    });
  }
  return responseObject(ctx, meta, { ...ending(choice.finish_reason), output, usage: responsesUsage(withReasoning(bill, answer.usage)) });
}
