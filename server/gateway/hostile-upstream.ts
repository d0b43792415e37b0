import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OpenAI-compatible upstream that misbehaves on purpose, for tests: the
 * request's `model` picks the misbehaviour. Everything a provider's server
 * could answer is hostile input to the proxy (docs/DESIGN.md "Trust
 * boundaries"); each behaviour here is one way of being hostile.
 */

export const HOSTILE_BEHAVIOURS = [
  "tokens-1e20",
  "tokens-negative",
  "tokens-fraction",
  "tokens-string",
  "usage-over-max",
  "json-100mb",
  "sse-endless",
  "sse-50mb-line",
  "stall",
  "stall-stream",
  "echo-auth-500",
  "echo-auth-400",
  "redirect",
  "greedy",
  "sse-killed",
  "tool-garbage",
] as const;
export type HostileBehaviour = (typeof HOSTILE_BEHAVIOURS)[number];

export type HostileUpstream = { url: string; port: number; close: () => Promise<void> };

const answer = (usage: unknown) =>
  JSON.stringify({
    id: "chatcmpl-hostile",
    object: "chat.completion",
    created: 1,
    model: "hostile",
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage,
  });

/** Writes `total` bytes of `unit` repeated, respecting backpressure, until done or the socket closes. */
async function flood(res: http.ServerResponse, unit: Buffer, total: number) {
  for (let sent = 0; sent < total && !res.destroyed; sent += unit.length) {
    if (!res.write(unit)) await new Promise((r) => res.once("drain", r).once("close", r));
  }
}

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    open.add(res);
    res.once("close", () => open.delete(res));
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: { model?: string; max_tokens?: number; n?: number; stream?: boolean; messages?: { content?: unknown }[]; tools?: unknown } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
    } catch {
      // Any body: the behaviour is the model's.
    }
    const behaviour = body.model as HostileBehaviour;
    const json = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(text);
    };
    const sse = () => res.writeHead(200, { "content-type": "text/event-stream" });
    const delta = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
    switch (behaviour) {
      case "tokens-1e20":
        return json(200, answer({ prompt_tokens: 1e20, completion_tokens: 1e20, total_tokens: 2e20 }));
      case "tokens-negative":
        return json(200, answer({ prompt_tokens: -1, completion_tokens: -1, total_tokens: -2 }));
      case "tokens-fraction":
        return json(200, answer({ prompt_tokens: 1.5, completion_tokens: 2.5, total_tokens: 4 }));
      case "tokens-string":
        return json(200, answer({ prompt_tokens: "10", completion_tokens: "many", total_tokens: "lots" }));
      case "usage-over-max": {
        // Plausible-looking integers, far past what max_tokens × n allows.
        const cap = (body.max_tokens ?? 16) * (body.n ?? 1);
        return json(200, answer({ prompt_tokens: 12, completion_tokens: cap * 1000, total_tokens: 12 + cap * 1000 }));
      }
      case "json-100mb":
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"');
        await flood(res, Buffer.alloc(1 << 20, 120), 100 << 20);
        return res.end('"}}]}');
      case "sse-endless": {
        sse();
        const timer = setInterval(() => res.write(delta(" more")), 5);
        res.once("close", () => clearInterval(timer));
        return;
      }
      case "sse-50mb-line":
        sse();
        res.write(delta("start"));
        res.write('data: {"choices":[{"index":0,"delta":{"content":"');
        await flood(res, Buffer.alloc(1 << 20, 120), 50 << 20);
        return res.end('"}}]}\n\n');
      case "stall":
        // Never answers: the proxy's idle limit must end the wait.
        return;
      case "sse-killed":
        // The connection dies mid-stream (a crashed server, a cut cable).
        sse();
        res.write(delta("alpha"));
        res.write(delta(" beta"));
        return void setTimeout(() => res.socket?.destroy(), 20);
      case "stall-stream":
        sse();
        res.write(delta("one"));
        res.write(delta(" two"));
        return;
      case "echo-auth-500":
        return json(
          500,
          JSON.stringify({ error: { message: `upstream exploded; you sent Authorization: ${req.headers.authorization}`, headers: req.headers } }),
        );
      case "echo-auth-400":
        return json(400, JSON.stringify({ error: { message: `bad request from ${req.headers.authorization}`, type: "invalid_request_error" } }));
      case "greedy": {
        // Honest but as dear as allowed: every choice runs to max_tokens, each image costs what a
        // high-detail one does at OpenAI, tool schemas are counted at 4 characters a token.
        const n = body.n ?? 1;
        const images = (body.messages ?? [])
          .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
          .filter((p: { type?: string }) => p?.type === "image_url").length;
        const prompt = 10 + images * 1445 + (body.tools ? Math.ceil(JSON.stringify(body.tools).length / 4) : 0);
        const completion = (body.max_tokens ?? 16) * n;
        const choices = Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: "assistant", content: "word ".repeat(body.max_tokens ?? 16).trim() },
          finish_reason: "length",
        }));
        return json(
          200,
          JSON.stringify({
            id: "chatcmpl-greedy",
            object: "chat.completion",
            created: 1,
            model: "greedy",
            choices,
            usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
          }),
        );
      }
      case "tool-garbage": {
        // Tool calls as no client API can take them: no ids or names, indexes out of order, arguments
        // that are not JSON or not strings, text between calls, a function that is not an object.
        const calls = [
          { index: 3, function: { arguments: '{"a":' } },
          { index: 0, id: 7, function: { name: null, arguments: { not: "a string" } } },
          { index: 3, function: { arguments: "not json}" } },
          { function: "f" },
          { index: -1, id: "call_x", type: "function", function: { name: "x", arguments: "[1,2]" } },
        ];
        if (body.stream !== true) {
          const message = { role: "assistant", content: "ok", tool_calls: [...calls, null, 5] };
          return json(
            200,
            JSON.stringify({
              id: "chatcmpl-tools",
              choices: [{ index: 0, message, finish_reason: "tool_calls" }],
              usage: { prompt_tokens: 5, completion_tokens: 3 },
            }),
          );
        }
        sse();
        for (const call of calls) {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [call] } }] })}\n\n`);
          res.write(delta(" between"));
        }
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: "nope" }, finish_reason: "tool_calls" }] })}\n\n`);
        return res.end("data: [DONE]\n\n");
      }
      case "redirect":
        res.writeHead(302, { location: "http://127.0.0.1:1/v1/chat/completions" });
        return res.end();
      default:
        return json(200, answer({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
