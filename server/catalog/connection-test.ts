import { request, type Dispatcher } from "undici";
import type { DbOrTx } from "../../db/client";
import { OutboundRefused, readCapped } from "../lib/outbound";
import { decryptCredential } from "./crypto";
import { ownListing } from "./listings";

/**
 * Only an OpenAI-style `error.message` is passed on from a failed response: the URL is the
 * provider's choice, and echoing arbitrary bodies would turn the test into a way to read
 * pages this server can reach.
 */
function upstreamErrorMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === "string" ? `: ${message}` : "";
  } catch {
    return "";
  }
}

export type ConnectionCheck = { name: string; ok: boolean; status: number | null; latencyMs: number; detail: string };

const TEST_TIMEOUT_MS = 10_000;

/** The most of an answer test connection reads: enough for a model list or an error message. */
const TEST_BODY_BYTES = 256 * 1024;

async function timedRequest(dispatcher: Dispatcher, url: string, credential: string | null, body?: unknown) {
  const started = performance.now();
  const res = await request(url, {
    dispatcher,
    method: body === undefined ? "GET" : "POST",
    headers: {
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: TEST_TIMEOUT_MS,
    bodyTimeout: TEST_TIMEOUT_MS,
  });
  const text = await readCapped(res.body, TEST_BODY_BYTES);
  return { status: res.statusCode, latencyMs: Math.round((performance.now() - started) * 10) / 10, text };
}

/**
 * Calls the upstream as the proxy would: `GET /models`, then a one-token request for the
 * listing's first modality, through `dispatcher` (the outbound policy's, as the proxy's: a listing
 * cannot point this inside the platform either). Reports status and latency of each; never throws for upstream failures.
 */
export async function testConnection(db: DbOrTx, p: { orgId: string; id: string; key: Buffer; dispatcher: Dispatcher }) {
  const l = await ownListing(db, { orgId: p.orgId, id: p.id });
  const credential = l.upstreamCredentialEnc ? decryptCredential(l.upstreamCredentialEnc, p.key, l.id) : null;
  // Upstream error bodies sometimes echo the key they were sent; it must not reach the browser.
  const scrub = (s: string) => (credential ? s.split(credential).join("••••") : s).slice(0, 300);
  const base = l.upstreamBaseUrl;
  const checks: ConnectionCheck[] = [];

  const run = async (name: string, url: string, body: unknown, judge: (json: unknown) => string | null) => {
    const started = performance.now();
    try {
      const r = await timedRequest(p.dispatcher, url, credential, body);
      let problem: string | null = r.status >= 200 && r.status < 300 ? null : `HTTP ${r.status}${upstreamErrorMessage(r.text)}`;
      if (!problem) {
        try {
          problem = judge(JSON.parse(r.text));
        } catch {
          problem = "the response is not JSON";
        }
      }
      checks.push({ name, ok: !problem, status: r.status, latencyMs: r.latencyMs, detail: scrub(problem ?? "OK") });
    } catch (err) {
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const why = err instanceof OutboundRefused ? `refused: ${err.message}` : `could not connect: ${(err as Error).message}`;
      checks.push({ name, ok: false, status: null, latencyMs, detail: scrub(why) });
    }
  };

  await run("GET /models", `${base}/models`, undefined, (json) => {
    const ids = Array.isArray((json as { data?: unknown }).data) ? (json as { data: { id?: unknown }[] }).data.map((m) => m.id) : null;
    if (!ids) return "the response has no `data` list of models";
    return ids.includes(l.upstreamModel) ? null : `the upstream does not list the model "${l.upstreamModel}"`;
  });
  const [first] = l.modalities;
  if (first === "embeddings") {
    await run("POST /embeddings", `${base}/embeddings`, { model: l.upstreamModel, input: "ping" }, (json) =>
      Array.isArray((json as { data?: unknown }).data) ? null : "the response has no embeddings",
    );
  } else if (first === "completion") {
    await run("POST /completions (1 token)", `${base}/completions`, { model: l.upstreamModel, prompt: "ping", max_tokens: 1 }, (json) =>
      Array.isArray((json as { choices?: unknown }).choices) ? null : "the response has no choices",
    );
  } else {
    await run(
      "POST /chat/completions (1 token)",
      `${base}/chat/completions`,
      { model: l.upstreamModel, messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
      (json) => (Array.isArray((json as { choices?: unknown }).choices) ? null : "the response has no choices"),
    );
  }
  return { ok: checks.every((c) => c.ok), checks, testedAt: new Date() };
}
