import { isObject, MAX_TOKENS } from "../../inputs";
import { apiError, type ApiError } from "../../openai-errors";

/**
 * A Responses API request (POST /v1/responses) as a Chat Completions request:
 * text or message-array input, `instructions`, function tools and their calls
 * and outputs, `max_output_tokens`, sampling, JSON output formats. What this
 * proxy does not implement (stored responses, conversations, built-in tools,
 * background runs) is refused naming the field, never silently dropped.
 */

/** What the answer echoes back of the request (the Responses object repeats its settings). */
export type ResponsesCtx = {
  instructions: string | null;
  maxOutputTokens: number | null;
  tools: Record<string, unknown>[];
  toolChoice: unknown;
  temperature: number | null;
  topP: number | null;
  parallelToolCalls: boolean;
  metadata: Record<string, unknown>;
  text: Record<string, unknown>;
};

type Json = Record<string, unknown>;

function bad(param: string, message: string, code = "invalid_value"): ApiError {
  return apiError("INVALID_INPUT", code, `${param}: ${message}`, { param });
}

/** Fields that change nothing this proxy does (echoed or ignored), beside the ones translated below. */
const IGNORED = new Set(["metadata", "safety_identifier", "prompt_cache_key", "service_tier", "stream_options", "truncation", "provider"]);
export const TRANSLATED_FIELDS = [
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "max_output_tokens",
  "temperature",
  "top_p",
  "stream",
  "store",
  "parallel_tool_calls",
  "text",
  "reasoning",
  "user",
  "include",
  "previous_response_id",
  "conversation",
  "background",
];
const TRANSLATED = new Set(TRANSLATED_FIELDS);
/** Set to anything but these, the field asks for what this proxy does not do. */
const UNSUPPORTED: [string, (v: unknown) => boolean, string][] = [
  ["store", (v) => v === true, "stored responses are not supported by this proxy; leave `store` out or set it to false"],
  ["previous_response_id", (v) => v !== null, "stored responses are not supported by this proxy; send the whole conversation in `input`"],
  ["conversation", (v) => v !== null, "conversations are not supported by this proxy; send the whole conversation in `input`"],
  ["background", (v) => v === true, "background responses are not supported by this proxy"],
  ["include", (v) => v !== null && !(Array.isArray(v) && v.length === 0), "extra output data is not supported by this proxy"],
];

function text(v: unknown): v is string {
  return typeof v === "string";
}

/** A message's content parts as chat content parts; an ApiError names the bad part. */
function contentParts(parts: unknown[], at: string, role: string): Json[] | ApiError {
  const out: Json[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const here = `${at}[${i}]`;
    if (!isObject(p)) return bad(here, "must be an object");
    if (p.type === "input_text" || p.type === "output_text") {
      if (!text(p.text)) return bad(`${here}.text`, "must be a string");
      out.push({ type: "text", text: p.text });
    } else if (p.type === "refusal" && role === "assistant") {
      if (!text(p.refusal)) return bad(`${here}.refusal`, "must be a string");
      out.push({ type: "text", text: p.refusal });
    } else if (p.type === "input_image" && role === "user") {
      if (!text(p.image_url)) return bad(`${here}.image_url`, "must be a URL or a data URL (file ids are not supported by this proxy)");
      out.push({ type: "image_url", image_url: p.detail === undefined ? { url: p.image_url } : { url: p.image_url, detail: p.detail } });
    } else {
      return bad(
        `${here}.type`,
        `content part type ${JSON.stringify(p.type)} is not supported for ${role} messages (use input_text${role === "user" ? " or input_image" : ""})`,
      );
    }
  }
  return out;
}

/** A function_call_output's output as chat tool content. */
function toolOutput(v: unknown, at: string): string | Json[] | ApiError {
  if (text(v)) return v;
  if (Array.isArray(v)) return contentParts(v, at, "tool");
  return bad(at, "must be a string or an array of input_text parts");
}

const ROLES: Record<string, string> = { user: "user", assistant: "assistant", system: "system", developer: "system" };

/** The input items as chat messages, after the instructions' system message. */
function messages(input: unknown, instructions: string | null): Json[] | ApiError {
  const out: Json[] = instructions ? [{ role: "system", content: instructions }] : [];
  if (text(input)) {
    out.push({ role: "user", content: input });
    return out;
  }
  if (!Array.isArray(input) || input.length === 0) return bad("input", "must be a string or a non-empty array of input items");
  for (let i = 0; i < input.length; i++) {
    const item = input[i];
    const at = `input[${i}]`;
    if (!isObject(item)) return bad(at, "must be an object");
    const type = item.type ?? "message";
    if (type === "message") {
      const role = text(item.role) ? ROLES[item.role] : undefined;
      if (!role) return bad(`${at}.role`, "must be one of user, assistant, system, developer");
      const content = text(item.content) ? item.content : Array.isArray(item.content) ? contentParts(item.content, `${at}.content`, item.role as string) : null;
      if (content === null) return bad(`${at}.content`, "must be a string or an array of content parts");
      if (!text(content) && !Array.isArray(content)) return content;
      // Assistant history goes back as plain text: chat upstreams take image or refusal parts from users only.
      out.push({ role, content: role === "assistant" && Array.isArray(content) ? content.map((p) => p.text).join("") : content });
    } else if (type === "function_call") {
      if (!text(item.call_id) || !item.call_id) return bad(`${at}.call_id`, "must be a non-empty string");
      if (!text(item.name) || !item.name) return bad(`${at}.name`, "must be a non-empty string");
      if (!text(item.arguments)) return bad(`${at}.arguments`, "must be a string (the JSON arguments)");
      const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      // Consecutive calls are one assistant turn in chat: they join the turn before them.
      const last = out[out.length - 1];
      if (last?.role === "assistant" && Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else if (last?.role === "assistant" && !last.tool_calls) last.tool_calls = [call];
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      if (!text(item.call_id) || !item.call_id) return bad(`${at}.call_id`, "must be a non-empty string");
      const content = toolOutput(item.output, `${at}.output`);
      if (!text(content) && !Array.isArray(content)) return content;
      out.push({ role: "tool", tool_call_id: item.call_id, content });
    } else {
      return bad(`${at}.type`, `input item type ${JSON.stringify(type)} is not supported by this proxy (use message, function_call or function_call_output)`);
    }
  }
  return out;
}

/** Function tools as chat tools; any other tool type is refused. */
function tools(v: unknown): { chat: Json[]; echo: Json[] } | ApiError {
  if (!Array.isArray(v)) return bad("tools", "must be an array");
  const chat: Json[] = [];
  const echo: Json[] = [];
  for (let i = 0; i < v.length; i++) {
    const t = v[i];
    const at = `tools[${i}]`;
    if (!isObject(t)) return bad(at, "must be an object");
    if (t.type !== "function") return bad(`${at}.type`, `tool type ${JSON.stringify(t.type)} is not supported by this proxy (only function tools are)`);
    if (!text(t.name) || !t.name) return bad(`${at}.name`, "must be a non-empty string");
    if (t.parameters !== undefined && t.parameters !== null && !isObject(t.parameters)) return bad(`${at}.parameters`, "must be a JSON schema object");
    if (t.description !== undefined && t.description !== null && !text(t.description)) return bad(`${at}.description`, "must be a string");
    const fn: Json = { name: t.name };
    if (t.description) fn.description = t.description;
    if (t.parameters) fn.parameters = t.parameters;
    if (typeof t.strict === "boolean") fn.strict = t.strict;
    chat.push({ type: "function", function: fn });
    echo.push({ type: "function", name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null });
  }
  return { chat, echo };
}

function toolChoice(v: unknown): unknown | ApiError {
  if (v === "auto" || v === "none" || v === "required") return v;
  if (isObject(v) && v.type === "function" && text(v.name) && v.name) return { type: "function", function: { name: v.name } };
  return bad("tool_choice", 'must be "auto", "none", "required" or {"type":"function","name":…}');
}

/** `text.format` as chat's response_format (null for plain text). */
function responseFormat(v: unknown): Json | null | ApiError {
  if (!isObject(v)) return bad("text", "must be an object");
  const f = v.format;
  if (f === undefined || f === null) return null;
  if (!isObject(f)) return bad("text.format", "must be an object");
  if (f.type === "text") return null;
  if (f.type === "json_object") return { type: "json_object" };
  if (f.type === "json_schema") {
    if (!text(f.name) || !f.name) return bad("text.format.name", "must be a non-empty string");
    if (!isObject(f.schema)) return bad("text.format.schema", "must be a JSON schema object");
    const schema: Json = { name: f.name, schema: f.schema };
    if (text(f.description)) schema.description = f.description;
    if (typeof f.strict === "boolean") schema.strict = f.strict;
    return { type: "json_schema", json_schema: schema };
  }
  return bad("text.format.type", "must be text, json_object or json_schema");
}

function numberOrNull(body: Json, field: string, min: number, max: number): number | null | ApiError {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) return bad(field, `must be a number from ${min} to ${max}`);
  return v;
}

export function parseResponsesRequest(body: Json): { chat: Json; ctx: ResponsesCtx } | ApiError {
  for (const field of Object.keys(body)) {
    if (!TRANSLATED.has(field) && !IGNORED.has(field)) return bad(field, "is not supported by this proxy's Responses API", "unknown_parameter");
  }
  for (const [field, refused, why] of UNSUPPORTED) {
    const v = body[field];
    if (v !== undefined && refused(v)) return bad(field, why, "unsupported_parameter");
  }
  if (!text(body.model) || !body.model) return bad("model", "is required (a listing slug such as `provider/model`, or a model family)");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") return bad("stream", "must be true or false");
  if (body.store !== undefined && body.store !== null && typeof body.store !== "boolean") return bad("store", "must be true or false");
  const instructions = body.instructions ?? null;
  if (instructions !== null && !text(instructions)) return bad("instructions", "must be a string");
  if (body.input === undefined || body.input === null) return bad("input", "is required (a string or an array of input items)");
  const msgs = messages(body.input, instructions);
  if (!Array.isArray(msgs)) return msgs;

  const chat: Json = { model: body.model, messages: msgs };
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null) {
    if (!(typeof max === "number" && Number.isInteger(max) && max >= 1 && max <= MAX_TOKENS))
      return bad("max_output_tokens", `must be a whole number from 1 to ${MAX_TOKENS}`);
    chat.max_tokens = max;
  }
  const temperature = numberOrNull(body, "temperature", 0, 2);
  if (typeof temperature === "object" && temperature !== null) return temperature;
  if (temperature !== null) chat.temperature = temperature;
  const topP = numberOrNull(body, "top_p", 0, 1);
  if (typeof topP === "object" && topP !== null) return topP;
  if (topP !== null) chat.top_p = topP;
  if (body.stream === true) chat.stream = true;
  let echoTools: Json[] = [];
  if (body.tools !== undefined && body.tools !== null) {
    const t = tools(body.tools);
    if (!("chat" in t)) return t;
    if (t.chat.length) chat.tools = t.chat;
    echoTools = t.echo;
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const c = toolChoice(body.tool_choice);
    if (isObject(c) && "status" in c) return c as ApiError;
    chat.tool_choice = c;
  }
  const parallel = body.parallel_tool_calls;
  if (parallel !== undefined && parallel !== null) {
    if (typeof parallel !== "boolean") return bad("parallel_tool_calls", "must be true or false");
    if (chat.tools) chat.parallel_tool_calls = parallel;
  }
  if (body.text !== undefined && body.text !== null) {
    const f = responseFormat(body.text);
    if (f && "status" in f) return f as ApiError;
    if (f) chat.response_format = f;
  }
  if (body.reasoning !== undefined && body.reasoning !== null) {
    if (!isObject(body.reasoning)) return bad("reasoning", "must be an object");
    const effort = body.reasoning.effort;
    if (effort !== undefined && effort !== null && !["minimal", "low", "medium", "high"].includes(effort as string))
      return bad("reasoning.effort", "must be minimal, low, medium or high");
    if (effort) chat.reasoning_effort = effort;
  }
  if (body.user !== undefined && body.user !== null) {
    if (!text(body.user)) return bad("user", "must be a string");
    chat.user = body.user;
  }
  if (body.metadata !== undefined && body.metadata !== null && !isObject(body.metadata)) return bad("metadata", "must be an object of strings");
  if (body.provider !== undefined) chat.provider = body.provider;
  return {
    chat,
    ctx: {
      instructions,
      maxOutputTokens: typeof max === "number" ? max : null,
      tools: echoTools,
      toolChoice: body.tool_choice ?? "auto",
      temperature: temperature as number | null,
      topP: topP as number | null,
      parallelToolCalls: parallel !== false,
      metadata: isObject(body.metadata) ? body.metadata : {},
      text: isObject(body.text) && isObject(body.text.format) ? { format: body.text.format } : { format: { type: "text" } },
    },
  };
}
