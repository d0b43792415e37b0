import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatPromptTokens } from "../tokens/prompt";
import { demoTokenizer, startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import { loopbackOutbound, reported, startTestProxy } from "./testing";

/**
 * A proxy starting while its backend is slow: it listens without waiting for the first catalog, a request that
 * comes first waits for the catalog (whose load also loads the vocabularies its listings declare), and its hold
 * and bill rest on exact counts from the start.
 */

let upstream: DemoUpstream;
beforeAll(async () => {
  upstream = await startDemoUpstream();
});
afterAll(() => upstream.close());

describe("starting before the backend answers", () => {
  it("listens at once; the first request waits for the catalog, then is counted exactly and billed once", { timeout: 30_000 }, async () => {
    const backend = new FakeBackend();
    let release = () => {};
    const catalogAnswers = new Promise<void>((r) => {
      release = r;
    });
    const routing = backend.routing.bind(backend);
    let asked = 0;
    backend.routing = async () => {
      asked++;
      await catalogAnswers;
      return routing();
    };
    const began = Date.now();
    const p = await startTestProxy({
      backend,
      outbound: loopbackOutbound(upstream.url),
      listings: [fakeListing(upstream.url, { slug: "prov/llama-3.1-8b" })],
      secret: "sk-test-startup",
      org: "org-startup",
    });
    try {
      // It used to wait up to 15 s for the catalog before listening.
      expect(Date.now() - began).toBeLessThan(10_000);
      // It asked for the catalog, and is still waiting for it.
      expect(asked).toBe(1);
      const client = new OpenAI({ baseURL: `${p.gateway.url}/v1`, apiKey: "sk-test-startup", maxRetries: 0 });
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Are you up yet? 你好 🎉" }];
      let done = false;
      const answer = client.chat.completions
        .create({ model: "prov/llama-3.1-8b", messages, max_tokens: 20 })
        .withResponse()
        .finally(() => {
          done = true;
        });
      await new Promise((r) => setTimeout(r, 200));
      expect(done).toBe(false);
      release();
      const { data, response } = await answer;
      const exact = chatPromptTokens(demoTokenizer("llama-3.1-8b-instruct"), { messages });
      expect(data.usage!.prompt_tokens).toBe(exact);
      await reported(p.backend, 1);
      expect(p.backend.events.get(response.headers.get("x-request-id")!)).toMatchObject({ inputTokens: exact, estimated: false, status: "ok" });
    } finally {
      release();
      await p.close();
    }
  });
});
