import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { countText } from "../tokens/encoders";
import { demoEnergyJoules, type EnergyProfile, energyProfileFor } from "./energy-profiles";
import { chatPromptTokens, textInputTokens } from "../tokens/prompt";
import { DEFAULT_TOKENIZER, type Tokenizer } from "../tokens/rules";

/**
 * A small OpenAI-compatible upstream for local runs and tests: chat and text
 * completions (streaming or not), embeddings and the model list. Output is a
 * pure function of the request, so tests can assert on it; `delayMs` (time to
 * first token) and `tokensPerSecond` make it behave like a real model server.
 * Its usage counts come from the same tokenizers and rules as the proxy's (server/tokens/),
 * with the tokenizer its model's listings declare (demoTokenizer), so the proxy's estimate
 * of a request equals the usage reported for it. Listings with a simulated hardware profile
 * (./energy-profiles.ts) report the energy of each response, by header or in the usage object.
 * Plain node:http otherwise.
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
  /** Answer without `usage`, as some model servers do (the proxy then counts the tokens itself). */
  omitUsage?: boolean;
  /** The tokenizer per model, where it differs from demoTokenizer's choice. */
  tokenizers?: Record<string, Tokenizer>;
};

export type DemoUpstream = { url: string; port: number; close: () => Promise<void> };

export const DEMO_MODELS = ["llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "qwen2.5-7b-instruct", "mistral-7b-instruct", "demo-embed-small"];

const VOCABULARY = (
  "the a token market price watt energy model answer quickly with care and light heat cost per each of " +
  "small large fast slow green blue data graph value signal clear bright calm stream batch cache ledger"
).split(" ");

/**
 * The demo's reasoning-style model (the seed sells it "for harder reasoning"): before a text answer it thinks
 * aloud in `reasoning_content` (as DeepSeek's and vLLM's reasoning parsers stream it), and its usage reports those
 * tokens as `completion_tokens_details.reasoning_tokens`, inside `completion_tokens` as OpenAI counts them.
 */
export const DEMO_REASONING_MODEL = "llama-3.1-70b-instruct";

/** The demo reasoning model's thought before answering a prompt: six words, chosen by the prompt's hash. */
export function reasoningWords(prompt: string): string[] {
  return completionWords(`think: ${prompt}`).slice(0, 6);
}

/** The tokenizer the demo counts a model's tokens with (and the demo seed declares): Llama 3's for Llama 3 models. */
export function demoTokenizer(model: string): Tokenizer {
  return model.startsWith("llama-3") ? "llama3" : DEFAULT_TOKENIZER;
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

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
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

/** A function call the demo model makes: a chat request offering tools gets a call of the first (or the chosen) one until a tool result follows. */
export type DemoToolCall = { id: string; name: string; arguments: string };

export function demoToolCall(body: Json, prompt: string): DemoToolCall | null {
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: unknown } }[]) : [];
  const messages = body.messages as { role?: string }[];
  if (tools.length === 0 || body.tool_choice === "none" || messages[messages.length - 1]?.role === "tool") return null;
  const chosen = (body.tool_choice as { function?: { name?: unknown } } | undefined)?.function?.name;
  const name = typeof chosen === "string" ? chosen : tools[0]?.function?.name;
  if (typeof name !== "string") return null;
  const id = `call_${digest(prompt).toString("hex").slice(0, 16)}`;
  return { id, name, arguments: JSON.stringify({ query: completionWords(prompt).slice(0, 3).join(" ") }) };
}

export function startDemoUpstream(opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const delayMs = opts.delayMs ?? 0;
  const tps = opts.tokensPerSecond ?? 0;
  const models = opts.models ?? DEMO_MODELS;
  const perToken = tps > 0 ? 1000 / tps : 0;
  let seq = 0;

  const tokenizerOf = (model: string) => opts.tokenizers?.[model] ?? demoTokenizer(model);

  async function generate(
    res: http.ServerResponse,
    kind: "chat" | "text",
    body: Json,
    promptText: string,
    promptTokens: number,
    energy: EnergyProfile | undefined,
    call: DemoToolCall | null = null,
  ) {
    const model = typeof body.model === "string" ? body.model : "";
    const t = tokenizerOf(model);
    // A tool call's arguments are its output: they are what is streamed and counted.
    const words = call ? [call.arguments.slice(0, 12), call.arguments.slice(12)] : completionWords(promptText);
    const joiner = call ? "" : " ";
    const max = body.max_tokens ?? body.max_completion_tokens;
    const limit = typeof max === "number" && max >= 0 ? Math.floor(max) : Infinity;
    // The thought comes first and counts against max_tokens, as a reasoning model's does.
    const thinks = kind === "chat" && !call && model === DEMO_REASONING_MODEL;
    let thought = thinks ? reasoningWords(promptText) : [];
    while (thought.length > 0 && countText(t, thought.join(" ")) > limit) thought = thought.slice(0, -1);
    const reasoningTokens = countText(t, thought.join(" "));
    // As many words as fit in max_tokens, counted whole as the answer's text.
    let out = words;
    while (out.length > 0 && reasoningTokens + countText(t, out.join(joiner)) > limit) out = out.slice(0, -1);
    const completionTokens = reasoningTokens + countText(t, out.join(joiner));
    const finish = out.length < words.length ? "length" : call ? "tool_calls" : "stop";
    const cached = cachedTokens(promptTokens);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cached },
      completion_tokens_details: { reasoning_tokens: reasoningTokens },
    };
    const joules = energy && demoEnergyJoules(energy, promptTokens + completionTokens);
    const energyHeader: Record<string, string> = energy?.via === "header" ? { "x-energy-joules": joules!.toFixed(6) } : {};
    if (energy?.via === "body") Object.assign(usage, { energy_joules: joules });
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-demo${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === "chat" ? "chat.completion" : "text_completion";
    const pieces = call ? out : out.map((w, i) => (i === 0 ? w : ` ${w}`));
    const callDelta = (i: number, args: string) => ({
      index: 0,
      ...(i === 0 && { id: call!.id, type: "function", function: { name: call!.name, arguments: args } }),
      ...(i > 0 && { function: { arguments: args } }),
    });

    await sleep(delayMs);
    if (!body.stream) {
      await sleep(perToken * out.length);
      const text = pieces.join("");
      const choice =
        kind === "chat"
          ? {
              index: 0,
              message: call
                ? {
                    role: "assistant",
                    content: null,
                    refusal: null,
                    tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: text } }],
                  }
                : { role: "assistant", content: text, refusal: null, ...(thinks && { reasoning_content: thought.join(" ") }) },
              logprobs: null,
              finish_reason: finish,
            }
          : { index: 0, text, logprobs: null, finish_reason: finish };
      return sendJson(res, 200, { id, object, created, model, choices: [choice], ...(opts.omitUsage ? {} : { usage }) }, energyHeader);
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", ...energyHeader });
    const chunkObject = kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (choice: Json) => send({ id, object: chunkObject, created, model, choices: [choice] });
    if (kind === "chat") chunk({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
    for (const [i, word] of thought.entries()) {
      if (res.destroyed) return;
      await sleep(perToken);
      chunk({ index: 0, delta: { reasoning_content: i === 0 ? word : ` ${word}` }, logprobs: null, finish_reason: null });
    }
    for (const [i, piece] of pieces.entries()) {
      if (res.destroyed) return;
      await sleep(perToken);
      chunk(
        kind === "chat"
          ? { index: 0, delta: call ? { tool_calls: [callDelta(i, piece)] } : { content: piece }, logprobs: null, finish_reason: null }
          : { index: 0, text: piece, logprobs: null, finish_reason: null },
      );
    }
    chunk(kind === "chat" ? { index: 0, delta: {}, logprobs: null, finish_reason: finish } : { index: 0, text: "", logprobs: null, finish_reason: finish });
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage && !opts.omitUsage) send({ id, object: chunkObject, created, model, choices: [], usage });
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

    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return sendError(res, 400, "you must provide a model parameter");
    if (path === "/v1/chat/completions") {
      if (!Array.isArray(body.messages) || body.messages.length === 0) return sendError(res, 400, "messages must be a non-empty array");
      const messages = body.messages as { role?: string; content?: unknown }[];
      const text = messages.map((m) => `${m.role ?? "user"}: ${messageText(m.content)}`).join("\n");
      return generate(
        res,
        "chat",
        body,
        text,
        chatPromptTokens(tokenizerOf(model), body),
        energyProfileFor(req.headers.authorization),
        demoToolCall(body, text),
      );
    }
    if (path === "/v1/completions") {
      const prompt = Array.isArray(body.prompt) ? body.prompt.map(String).join("") : typeof body.prompt === "string" ? body.prompt : null;
      if (prompt === null) return sendError(res, 400, "prompt must be a string");
      return generate(res, "text", body, prompt, textInputTokens(tokenizerOf(model), body.prompt), energyProfileFor(req.headers.authorization));
    }
    if (path === "/v1/embeddings") {
      const inputs = Array.isArray(body.input) ? body.input.map(String) : typeof body.input === "string" ? [body.input] : null;
      if (!inputs || inputs.length === 0) return sendError(res, 400, "input must be a string or an array of strings");
      const dims = typeof body.dimensions === "number" && body.dimensions > 0 ? Math.min(4096, Math.floor(body.dimensions)) : 16;
      const base64 = body.encoding_format === "base64";
      await sleep(delayMs);
      const tokens = textInputTokens(tokenizerOf(model), body.input);
      return sendJson(res, 200, {
        object: "list",
        model: body.model,
        data: inputs.map((s, index) => {
          const v = embeddingFor(s, dims);
          const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
          return { object: "embedding", index, embedding };
        }),
        ...(opts.omitUsage ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } }),
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
