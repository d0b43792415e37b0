import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import { serveFakeBackend } from "./fake-backend-server";
import { startHostileUpstream, type HostileUpstream } from "./hostile-upstream";
import { spawnGateway, type GatewayProcess } from "./spawn";

/**
 * Issue 14, acceptance 5: the proxy process keeps serving (or fails closed with
 * 503 where it cannot check credit or record usage) when its upstream's connection
 * dies mid-stream, when the backend is down, and when its usage spool is full.
 */

const SECRET = "sk-resilient-buyer";
const SERVICE_TOKEN = "resilience-test-service-token-0123456789";

let demo: DemoUpstream;
let hostile: HostileUpstream;
let fake: FakeBackend;
let backendServer: { url: string; close: () => Promise<void> };
const proxies: GatewayProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  demo = await startDemoUpstream();
  hostile = await startHostileUpstream();
  fake = new FakeBackend();
  fake.listings = [fakeListing(demo.url, { slug: "prov/llama-3.1-8b" }), fakeListing(hostile.url, { slug: "prov/killed", upstreamModel: "sse-killed" })];
  fake.addKey(SECRET, "org-resilient");
  fake.balances.set("org-resilient", 1_000_000_000_000n);
  backendServer = await serveFakeBackend(fake, SERVICE_TOKEN);
});

afterAll(async () => {
  for (const p of proxies) await p.stop();
  await backendServer?.close();
  await demo?.close();
  await hostile?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function startProxy(env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-resilience-"));
  dirs.push(dir);
  const p = await spawnGateway({
    GATEWAY_BACKEND_URL: backendServer.url,
    SERVICE_TOKEN,
    GATEWAY_SPOOL_DIR: dir,
    GATEWAY_REPORT_INTERVAL_MS: "10",
    UPSTREAM_ALLOW_PRIVATE: `${new URL(demo.url).host},${new URL(hostile.url).host}`,
    ...env,
  });
  proxies.push(p);
  return p;
}

const ask = (p: GatewayProcess, secret = SECRET, model = "prov/llama-3.1-8b", stream = false) =>
  fetch(`${p.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "still up?" }], max_tokens: 4, stream }),
  });

async function until(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

describe("the proxy process under failures", () => {
  it("an upstream connection killed mid-stream: an SSE error event, what streamed billed, the next request served", async () => {
    const p = await startProxy();
    const r = await ask(p, SECRET, "prov/killed", true);
    const text = await r.text();
    expect(text).toContain('"content":" beta"');
    expect(text).toContain("broke off");
    const id = r.headers.get("x-request-id")!;
    await until(async () => fake.events.has(id), "the broken stream's usage is reported");
    expect(fake.events.get(id)).toMatchObject({ status: "error", outputTokens: 2 });
    expect((await ask(p)).status).toBe(200);
    expect(p.child.exitCode).toBeNull();
  });

  it("the backend down: a key it cannot check gets 503, a cached key with credit is served; back up, usage drains", async () => {
    const p = await startProxy();
    expect((await ask(p)).status).toBe(200);
    const pid = p.child.pid;
    const before = fake.events.size;
    fake.addKey("sk-never-seen", "org-resilient");
    fake.down = true;
    try {
      const unknown = await ask(p, "sk-never-seen");
      expect(unknown.status).toBe(503);
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("backend_unavailable");
      expect((await ask(p)).status).toBe(200);
    } finally {
      fake.down = false;
    }
    await until(async () => fake.events.size >= before + 1, "usage served while the backend was down is reported");
    expect((await ask(p, "sk-never-seen")).status).toBe(200);
    expect(p.child.pid).toBe(pid);
  });

  it("a full spool: 503 until reports go through again, then served by the same process", async () => {
    const p = await startProxy({ GATEWAY_SPOOL_MAX_BYTES: "65536" });
    const pid = p.child.pid;
    fake.failReports = 1_000_000;
    let full: Response | null = null;
    try {
      for (let i = 0; i < 1_000 && !full; i++) {
        const r = await ask(p);
        if (r.status === 503) full = r;
        else expect(r.status).toBe(200);
      }
      expect(full).not.toBeNull();
      expect(((await full!.json()) as { error: { code: string } }).error.code).toBe("usage_spool_full");
    } finally {
      fake.failReports = 0;
    }
    await until(async () => (await ask(p)).status === 200, "the spool drains and requests are served again");
    expect(p.child.pid).toBe(pid);
    expect(p.child.exitCode).toBeNull();
  });
});
