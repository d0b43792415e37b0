import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeBackend, fakeListing } from "./fake-backend";
import { HOSTILE_BEHAVIOURS, startHostileUpstream, type HostileUpstream } from "./hostile-upstream";
import { startGateway, type Gateway } from "./server";
import { TEST_GATEWAY_CONFIG } from "./testing";

/**
 * POST /v1/responses in front of an upstream that misbehaves in every way
 * hostile-upstream.ts knows, streamed and not: every answer is a Response, a
 * Responses stream that ends in a terminal event, or an OpenAI error envelope;
 * the upstream's credential never shows; each request is billed at most once;
 * and the same proxy serves a normal request afterwards.
 */

const SECRET = "sk-responses-hostile";
const ORG = "org-responses-hostile";
const CREDENTIAL = "sk-provider-SECRET-credential-42";
let hostile: HostileUpstream;
let backend: FakeBackend;
let gateway: Gateway;
let spoolDir: string;

beforeAll(async () => {
  hostile = await startHostileUpstream();
  backend = new FakeBackend();
  backend.listings = HOSTILE_BEHAVIOURS.map((b) => ({
    ...fakeListing(hostile.url, { slug: `hostile/${b}`, upstreamModel: b, contextLength: 8192 }),
    upstreamCredential: CREDENTIAL,
  }));
  backend.addKey(SECRET, ORG);
  backend.balances.set(ORG, 1_000_000_000_000n);
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-responses-hostile-"));
  gateway = await startGateway(
    {
      outbound: { allowPrivate: new Set([`127.0.0.1:${hostile.port}`]), ownPorts: new Set<number>() },
      backend,
      spoolDir,
      ...TEST_GATEWAY_CONFIG,
      maxRequestMs: 2_000,
      upstreamIdleMs: 500,
      maxUpstreamBodyBytes: 1 << 20,
      maxSseEventBytes: 64 << 10,
      log: () => {},
    },
    { port: 0 },
  );
});

afterAll(async () => {
  await gateway?.close();
  await hostile?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

async function call(behaviour: string, stream: boolean) {
  const r = await fetch(`${gateway.url}/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: JSON.stringify({ model: `hostile/${behaviour}`, input: "be hostile", max_output_tokens: 16, stream }),
  });
  return { status: r.status, id: r.headers.get("x-request-id")!, text: await r.text() };
}

describe("the Responses dialect in front of a hostile upstream", () => {
  for (const behaviour of HOSTILE_BEHAVIOURS) {
    for (const stream of [false, true]) {
      it(`${behaviour}${stream ? ", streamed" : ""}: a Response, a finished stream or an OpenAI envelope; billed at most once`, async () => {
        const r = await call(behaviour, stream);
        expect(r.status).not.toBe(500);
        expect(r.text).not.toContain(CREDENTIAL);
        if (r.status !== 200) {
          expect(JSON.parse(r.text)).toMatchObject({ error: { message: expect.any(String), type: expect.any(String) } });
        } else if (!stream) {
          expect(JSON.parse(r.text)).toMatchObject({ object: "response", usage: { cost: expect.stringMatching(/^\d+\.\d+$|^0$/) } });
        } else {
          const blocks = r.text.trim().split("\n\n");
          const types = blocks.map((b) => (JSON.parse(b.split("\n")[1]!.slice("data: ".length)) as { type: string }).type);
          expect(types[0]).toBe("response.created");
          expect(["response.completed", "response.incomplete", "response.failed"]).toContain(types.at(-1));
        }
        for (let i = 0; i < 100 && !backend.events.has(r.id) && r.status === 200; i++) await new Promise((res) => setTimeout(res, 10));
        expect([...backend.events.keys()].filter((id) => id === r.id).length).toBe(r.status === 200 ? 1 : 0);
      });
    }
  }

  it("afterwards the same proxy serves the openai client's responses.create", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: SECRET, maxRetries: 0 });
    const r = await client.responses.create({ model: "hostile/tokens-negative", input: "still there?" });
    expect(r.output_text).toBe("ok");
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
  });
});
