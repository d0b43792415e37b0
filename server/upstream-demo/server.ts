import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small OpenAI-compatible upstream for local runs and tests: chat and text
 * completions (streaming or not, chat with tool calls), embeddings and the model list. Output is a
 * pure function of the request, so tests can assert on it; `delayMs` (time to
 * first token) and `tokensPerSecond` make it behave like a real model server.
 * Plain node:http so it carries no dependencies.
 */

export type DemoUpstreamOptions = {
  port?: number;
  host?: string;
  /** Wait before the first token (or the whole response), in milliseconds. */
  delayMs?: number;
  /** Pace generation at this many tokens per second; 0 = as fast as possible. */
  tokensPerSecond?: number;
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  models?: string[];
};

export type DemoUpstream = { url: string; port: number; close: () => Promise<void> };

export const DEMO_MODELS = ["llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct", "demo-embed-small"];

const VOCABULARY = (
  "the a token market price watt energy model answer quickly with care and light heat cost per each of " +
  "small large fast slow green blue data graph value signal clear bright calm stream batch cache ledger"
).split(" ");

/** Rough token count like the usual ~4 characters per token; at least 1 for non-empty text. */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The words the demo model says for a prompt: 8–31 of them, chosen by the prompt's hash. */
export function completionWords(prompt: string): string[] {
  const h = digest(prompt);
  const n = 8 + (h[0]! % 24);
  return Array.from({ length: n }, (_, i) => VOCABULARY[h[(i + 1) % h.length]! % VOCABULARY.length]!);
}

/** Prompts of 1024+ tokens report half their tokens as cached (128-token blocks), like a warm prefix cache. */
export function cachedTokens(promptTokens: number): number {
  return promptTokens >= 1024 ? Math.floor(promptTokens / 2 / 128) * 128 : 0;
}

/** A deterministic unit vector for a text. */
export function embeddingFor(text: string, dimensions: number): number[] {
  const v: number[] = [];
  let block = digest(text);
  for (let i = 0; v.length < dimensions; i++) {
    if (i > 0 && i % 16 === 0) block = digest(block.toString("hex"));
    v.push(block.readInt16BE((i % 16) * 2) / 32768);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

type Json = Record<string, unknown>;

function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, message: string, type = "invalid_request_error") {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "object" && p && "text" in p ? String(p.text) : "")).join("");
  return "";
}

type DemoTool = { name: string; parameters: Json };

/**
 * The tool the demo model calls, if any: with tools offered (and not refused by
 * `tool_choice: "none"`), a turn that does not answer a tool result calls the
 * chosen tool, else the first. Null: it answers in text.
 */
export function demoToolCall(body: Json): DemoTool | null {
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: unknown; parameters?: unknown } }[]) : [];
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string }[]) : [];
  if (tools.length === 0 || body.tool_choice === "none" || messages[messages.length - 1]?.role === "tool") return null;
  const choice = body.tool_choice as { function?: { name?: unknown } } | undefined;
  const wanted = typeof choice === "object" && choice ? choice.function?.name : undefined;
  const fn = (tools.find((t) => t.function?.name === wanted) ?? tools[0])?.function;
  if (!fn || typeof fn.name !== "string") return null;
  return { name: fn.name, parameters: typeof fn.parameters === "object" && fn.parameters ? (fn.parameters as Json) : {} };
}

/** The demo's arguments for a tool: each string property a word of the prompt's answer, numbers counting up, booleans true. */
export function demoToolArguments(tool: DemoTool, prompt: string): string {
  const words = completionWords(prompt);
  const props = (tool.parameters.properties ?? {}) as Record<string, { type?: unknown }>;
  const args: Json = {};
  Object.entries(props).forEach(([name, schema], i) => {
    if (schema?.type === "string") args[name] = words[i % words.length];
    else if (schema?.type === "number" || schema?.type === "integer") args[name] = i + 1;
    else if (schema?.type === "boolean") args[name] = true;
  });
  return JSON.stringify(args);
}

export function startDemoUpstream(opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const delayMs = opts.delayMs ?? 0;
  const tps = opts.tokensPerSecond ?? 0;
  const models = opts.models ?? DEMO_MODELS;
  const perToken = tps > 0 ? 1000 / tps : 0;
  let seq = 0;

  async function generate(res: http.ServerResponse, kind: "chat" | "text", body: Json, promptText: string, promptTokens: number) {
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return sendError(res, 400, "you must provide a model parameter");
    const words = completionWords(promptText);
    const max = body.max_tokens ?? body.max_completion_tokens;
    const limit = typeof max === "number" && max >= 0 ? Math.floor(max) : words.length;
    const out = words.slice(0, limit);
    const finish = out.length < words.length ? "length" : "stop";
    const cached = cachedTokens(promptTokens);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: out.length,
      total_tokens: promptTokens + out.length,
      prompt_tokens_details: { cached_tokens: cached },
      completion_tokens_details: { reasoning_tokens: 0 },
    };
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-demo${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === "chat" ? "chat.completion" : "text_completion";
    const pieces = out.map((w, i) => (i === 0 ? w : ` ${w}`));

    await sleep(delayMs);
    if (!body.stream) {
      await sleep(perToken * out.length);
      const text = pieces.join("");
      const choice =
        kind === "chat"
          ? { index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finish }
          : { index: 0, text, logprobs: null, finish_reason: finish };
      return sendJson(res, 200, { id, object, created, model, choices: [choice], usage });
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (choice: Json) => send({ id, object: chunkObject, created, model, choices: [choice] });
    if (kind === "chat") chunk({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
    for (const piece of pieces) {
      if (res.destroyed) return;
      await sleep(perToken);
      chunk(
        kind === "chat"
          ? { index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }
          : { index: 0, text: piece, logprobs: null, finish_reason: null },
      );
    }
    chunk(kind === "chat" ? { index: 0, delta: {}, logprobs: null, finish_reason: finish } : { index: 0, text: "", logprobs: null, finish_reason: finish });
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) send({ id, object: chunkObject, created, model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  }

  async function callTool(res: http.ServerResponse, body: Json, tool: DemoTool, promptText: string, promptTokens: number) {
    const args = demoToolArguments(tool, promptText);
    const id = `chatcmpl-demo${++seq}`;
    const call = { id: `call_demo${seq}`, type: "function", function: { name: tool.name, arguments: args } };
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    const completion = countTokens(tool.name) + countTokens(args);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + completion,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    await sleep(delayMs);
    if (!body.stream) {
      const message = { role: "assistant", content: null, tool_calls: [call], refusal: null };
      return sendJson(res, 200, { id, object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: "tool_calls" }], usage });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: Json, finish: string | null = null) =>
      send({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, ...call, function: { name: tool.name, arguments: "" } }] });
    // Arguments arrive in pieces, as real servers stream them.
    for (let at = 0; at < args.length; at += 8) chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(at, at + 8) } }] });
    chunk({}, "tool_calls");
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage)
      send({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "");
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return sendError(res, 401, "Incorrect API key provided", "authentication_error");
    }
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "tokenmarket-demo" })) });
    }
    if (req.method !== "POST") return sendError(res, 404, `Unknown request URL: ${req.method} ${path}`);

    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Json;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
    } catch {
      return sendError(res, 400, "We could not parse the JSON body of your request.");
    }

    if (path === "/v1/chat/completions") {
      if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 400, "messages must be a non-empty array");
      const messages = body.messages as { role?: string; content?: unknown }[];
      const text = messages.map((m) => `${m.role ?? "user"}: ${messageText(m.content)}`).join("\n");
      // ~4 tokens of chat-format overhead per message, as OpenAI's counting has.
      const promptTokens = messages.reduce((n, m) => n + 4 + countTokens(messageText(m.content)), 0);
      const tool = demoToolCall(body);
      if (tool) return callTool(res, body, tool, text, promptTokens);
      return generate(res, "chat", body, text, promptTokens);
    }
    if (path === "/v1/completions") {
      const prompt = Array.isArray(body.prompt) ? body.prompt.map(String).join("") : typeof body.prompt === "string" ? body.prompt : null;
      if (prompt === null) return sendError(res, 400, "prompt must be a string");
      return generate(res, "text", body, prompt, countTokens(prompt));
    }
    if (path === "/v1/embeddings") {
      const inputs = Array.isArray(body.input) ? body.input.map(String) : typeof body.input === "string" ? [body.input] : null;
      if (!inputs || inputs.length === 0) return sendError(res, 400, "input must be a string or an array of strings");
      const dims = typeof body.dimensions === "number" && body.dimensions > 0 ? Math.min(4096, Math.floor(body.dimensions)) : 16;
      const base64 = body.encoding_format === "base64";
      await sleep(delayMs);
      const tokens = inputs.reduce((n, s) => n + countTokens(s), 0);
      return sendJson(res, 200, {
        object: "list",
        model: body.model,
        data: inputs.map((s, index) => {
          const v = embeddingFor(s, dims);
          const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
          return { object: "embedding", index, embedding };
        }),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    return sendError(res, 404, `Unknown request URL: POST ${path}`);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendError(res, 500, err.message, "api_error");
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${opts.host ?? "127.0.0.1"}:${port}/v1`,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
