import { isObject } from "../../inputs";
import { apiError, type ApiError } from "../../openai-errors";

/**
 * Anthropic's Messages request (POST /v1/messages) checked and translated to a
 * Chat Completions request, field by field; what cannot be translated is refused
 * with a 400 naming the field as the Messages API spells it (`messages[2].content[0].type`).
 * Accepted and not sent on: `top_k`, `thinking`, `service_tier`, `cache_control`
 * (Chat Completions has no field for them); thinking blocks in the history are dropped.
 */

type Json = Record<string, unknown>;
type ChatMessage = Json;

/** What the answer reads back of the request: the stop sequences, to name the one that matched. */
export type MessagesCtx = { stop: readonly string[] };

/** Media types Anthropic accepts for base64 images. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

function bad(param: string, message: string): ApiError {
  return apiError("INVALID_INPUT", "invalid_value", `${param}: ${message}`, { param });
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : typeof v);

/** A `system` prompt or tool result content: a string or text blocks, as one string. */
function textOf(value: unknown, at: string): string | ApiError {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return bad(at, "must be a string or an array of text blocks");
  let text = "";
  for (let j = 0; j < value.length; j++) {
    const b: unknown = value[j];
    if (!isObject(b) || b.type !== "text") return bad(`${at}[${j}].type`, `must be "text" here (got ${typeName(isObject(b) ? b.type : b)})`);
    if (typeof b.text !== "string") return bad(`${at}[${j}].text`, "must be a string");
    text += (text ? "\n" : "") + b.text;
  }
  return text;
}

/** An image block as a chat `image_url` part (a part has no `status`: an error has). */
function imagePart(b: Json, at: string): { type: "image_url"; image_url: { url: string } } | ApiError {
  const src = b.source;
  if (!isObject(src)) return bad(`${at}.source`, 'must be an object: {"type":"base64","media_type","data"} or {"type":"url","url"}');
  if (src.type === "base64") {
    if (typeof src.media_type !== "string" || !IMAGE_TYPES.has(src.media_type))
      return bad(`${at}.source.media_type`, `must be one of ${[...IMAGE_TYPES].join(", ")}`);
    if (typeof src.data !== "string" || src.data.length === 0) return bad(`${at}.source.data`, "must be the image's bytes in base64");
    return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
  }
  if (src.type === "url") {
    if (typeof src.url !== "string" || !/^https?:\/\//i.test(src.url)) return bad(`${at}.source.url`, "must be an http(s) URL");
    return { type: "image_url", image_url: { url: src.url } };
  }
  return bad(`${at}.source.type`, `must be "base64" or "url" (got ${typeName(src.type)})`);
}

/** Visits each block of a message's content with its path (`messages[i].content[j]`), stopping at the first fault. */
function eachBlock(content: unknown[], at: string, visit: (b: Json, here: string) => ApiError | null): ApiError | null {
  for (let j = 0; j < content.length; j++) {
    const b: unknown = content[j];
    const here = `${at}.content[${j}]`;
    if (!isObject(b)) return bad(here, "must be a content block object");
    const failed = visit(b, here);
    if (failed) return failed;
  }
  return null;
}

function unanswered(at: string, awaited: Set<string>): ApiError {
  return bad(`${at}.content`, `must answer every tool_use of the previous assistant message with a tool_result (missing: ${[...awaited].join(", ")})`);
}

/** A user turn: tool results become chat `tool` messages (first, as chat wants them), the rest one user message. */
function userTurn(content: unknown, at: string, awaited: Set<string>, out: ChatMessage[]): ApiError | null {
  if (typeof content === "string") {
    if (awaited.size > 0) return unanswered(at, awaited);
    out.push({ role: "user", content });
    return null;
  }
  if (!Array.isArray(content) || content.length === 0) return bad(`${at}.content`, "must be a string or a non-empty array of content blocks");
  const parts: Json[] = [];
  const failed = eachBlock(content, at, (b, here) => {
    if (b.type === "text") {
      if (typeof b.text !== "string") return bad(`${here}.text`, "must be a string");
      parts.push({ type: "text", text: b.text });
    } else if (b.type === "image") {
      const part = imagePart(b, here);
      if ("status" in part) return part;
      parts.push(part);
    } else if (b.type === "tool_result") {
      const id = b.tool_use_id;
      if (typeof id !== "string" || !awaited.has(id))
        return bad(`${here}.tool_use_id`, `${typeName(id)} does not match a tool_use block of the previous assistant message`);
      awaited.delete(id);
      const images: Json[] = [];
      let text = "";
      if (typeof b.content === "string") text = b.content;
      else if (Array.isArray(b.content)) {
        for (let k = 0; k < b.content.length; k++) {
          const c: unknown = b.content[k];
          if (isObject(c) && c.type === "image") {
            const part = imagePart(c, `${here}.content[${k}]`);
            if ("status" in part) return part;
            images.push(part);
            continue;
          }
          const t = textOf([c], `${here}.content`);
          if (typeof t !== "string") return bad(`${here}.content[${k}].type`, `must be "text" or "image" (got ${typeName(isObject(c) ? c.type : c)})`);
          text += (text ? "\n" : "") + t;
        }
      } else if (b.content !== undefined && b.content !== null) return bad(`${here}.content`, "must be a string or an array of text and image blocks");
      // Chat Completions has no error flag on a tool result: the model reads it in the text.
      out.push({ role: "tool", tool_call_id: id, content: b.is_error === true ? `Error: ${text}` : text });
      // A tool message carries text only: a result's images follow as user content.
      parts.push(...images);
    } else {
      return bad(`${here}.type`, `must be "text", "image" or "tool_result" in a user message (got ${typeName(b.type)})`);
    }
    return null;
  });
  if (failed) return failed;
  if (awaited.size > 0) return unanswered(at, awaited);
  if (parts.length > 0) out.push({ role: "user", content: parts });
  return null;
}

/** An assistant turn: its text and tool_use blocks as one chat assistant message; the tool_use ids a reply must answer. */
function assistantTurn(content: unknown, at: string, out: ChatMessage[]): Set<string> | ApiError {
  const ids = new Set<string>();
  if (typeof content === "string") {
    out.push({ role: "assistant", content });
    return ids;
  }
  if (!Array.isArray(content)) return bad(`${at}.content`, "must be a string or an array of content blocks");
  let text = "";
  const calls: Json[] = [];
  const failed = eachBlock(content, at, (b, here) => {
    if (b.type === "text") {
      if (typeof b.text !== "string") return bad(`${here}.text`, "must be a string");
      text += b.text;
    } else if (b.type === "tool_use") {
      if (typeof b.id !== "string" || b.id.length === 0) return bad(`${here}.id`, "must be a non-empty string");
      if (ids.has(b.id)) return bad(`${here}.id`, `${JSON.stringify(b.id)} is used twice`);
      if (typeof b.name !== "string" || b.name.length === 0) return bad(`${here}.name`, "must be the tool's name");
      if (!isObject(b.input)) return bad(`${here}.input`, "must be an object");
      let args: string;
      try {
        args = JSON.stringify(b.input);
      } catch {
        return bad(`${here}.input`, "is nested too deeply to read");
      }
      ids.add(b.id);
      calls.push({ id: b.id, type: "function", function: { name: b.name, arguments: args } });
    } else if (b.type !== "thinking" && b.type !== "redacted_thinking") {
      return bad(`${here}.type`, `must be "text" or "tool_use" in an assistant message (got ${typeName(b.type)})`);
    }
    return null;
  });
  if (failed) return failed;
  out.push(calls.length ? { role: "assistant", content: text || null, tool_calls: calls } : { role: "assistant", content: text });
  return ids;
}

function chatTools(tools: unknown): Json[] | ApiError {
  if (!Array.isArray(tools)) return bad("tools", "must be an array of tool definitions");
  const out: Json[] = [];
  for (let i = 0; i < tools.length; i++) {
    const t: unknown = tools[i];
    if (!isObject(t)) return bad(`tools[${i}]`, "must be an object with name and input_schema");
    if (t.type !== undefined && t.type !== null && t.type !== "custom")
      return bad(`tools[${i}].type`, `server tools (${typeName(t.type)}) are not offered through this proxy; declare client tools with name and input_schema`);
    if (typeof t.name !== "string" || t.name.length === 0) return bad(`tools[${i}].name`, "must be a non-empty string");
    if (!isObject(t.input_schema)) return bad(`tools[${i}].input_schema`, "must be a JSON Schema object");
    if (t.description !== undefined && typeof t.description !== "string") return bad(`tools[${i}].description`, "must be a string");
    out.push({ type: "function", function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema } });
  }
  return out;
}

function chatToolChoice(choice: unknown, names: Set<string>): { tool_choice: unknown; parallel?: false } | ApiError {
  if (!isObject(choice)) return bad("tool_choice", 'must be an object such as {"type":"auto"}');
  const parallel = choice.disable_parallel_tool_use === true ? { parallel: false as const } : {};
  if (choice.type === "auto") return { tool_choice: "auto", ...parallel };
  if (choice.type === "any") return { tool_choice: "required", ...parallel };
  if (choice.type === "none") return { tool_choice: "none" };
  if (choice.type === "tool") {
    if (typeof choice.name !== "string" || !names.has(choice.name)) return bad("tool_choice.name", "must name one of the request's tools");
    return { tool_choice: { type: "function", function: { name: choice.name } }, ...parallel };
  }
  return bad("tool_choice.type", `must be "auto", "any", "tool" or "none" (got ${typeName(choice.type)})`);
}

/** The Messages request as a Chat Completions request, or the 400 for its first fault. */
export function messagesToChat(body: Json): { chat: Json; ctx: MessagesCtx } | ApiError {
  if (typeof body.model !== "string" || body.model.length === 0)
    return bad("model", "is required (a listing slug such as `provider/model`, or a model family)");
  const maxTokens = body.max_tokens;
  if (maxTokens === undefined || maxTokens === null) return bad("max_tokens", "is required: the most tokens the answer may have");
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) return bad("max_tokens", "must be a whole number of at least 1");
  const chat: Json = { model: body.model, max_tokens: maxTokens };
  const messages: ChatMessage[] = [];
  if (body.system !== undefined && body.system !== null) {
    const system = textOf(body.system, "system");
    if (typeof system !== "string") return system;
    if (system) messages.push({ role: "system", content: system });
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) return bad("messages", "must be a non-empty array");
  let awaited = new Set<string>();
  for (let i = 0; i < body.messages.length; i++) {
    const m: unknown = body.messages[i];
    const at = `messages[${i}]`;
    if (!isObject(m)) return bad(at, "must be an object with role and content");
    if (m.role === "user") {
      const failed = userTurn(m.content, at, awaited, messages);
      if (failed) return failed;
      awaited = new Set();
    } else if (m.role === "assistant") {
      if (awaited.size > 0) return bad(`${at}.role`, `must be "user": the tool_use blocks of messages[${i - 1}] need their tool_result blocks first`);
      const ids = assistantTurn(m.content, at, messages);
      if ("status" in ids) return ids;
      awaited = ids;
    } else {
      return bad(`${at}.role`, `must be "user" or "assistant" (got ${typeName(m.role)}); a system prompt goes in the top-level \`system\` field`);
    }
  }
  if (awaited.size > 0 && body.messages.length > 0) {
    return bad(`messages[${body.messages.length - 1}]`, "ends with tool_use blocks: send their tool_result blocks in a following user message");
  }
  chat.messages = messages;
  if (body.stream !== undefined && body.stream !== null) {
    if (typeof body.stream !== "boolean") return bad("stream", "must be true or false");
    chat.stream = body.stream;
  }
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === "string" && s.length > 0))
      return bad("stop_sequences", "must be an array of non-empty strings");
    if (body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  }
  for (const [field, max] of [
    ["temperature", 1],
    ["top_p", 1],
  ] as const) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !(v >= 0 && v <= max)) return bad(field, `must be a number from 0 to ${max}`);
    chat[field] = v;
  }
  if (body.tools !== undefined && body.tools !== null) {
    const tools = chatTools(body.tools);
    if ("status" in tools) return tools;
    if (tools.length > 0) chat.tools = tools;
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const names = new Set(((chat.tools as Json[] | undefined) ?? []).map((t) => (t.function as Json).name as string));
    const choice = chatToolChoice(body.tool_choice, names);
    if ("status" in choice) return choice;
    if (chat.tools) {
      chat.tool_choice = choice.tool_choice;
      if (choice.parallel === false) chat.parallel_tool_calls = false;
    }
  }
  if (isObject(body.metadata) && typeof body.metadata.user_id === "string") chat.user = body.metadata.user_id;
  // The proxy's own routing preferences ride along as they do on chat.
  if (body.provider !== undefined) chat.provider = body.provider;
  return { chat, ctx: { stop: (chat.stop as string[] | undefined) ?? [] } };
}
