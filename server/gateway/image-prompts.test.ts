import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { chatPromptTokens } from "../tokens/prompt";
import { fakeListing } from "./fake-backend";
import { demoProxyPerTest, reported } from "./testing";

/**
 * Image parts through the proxy with the official openai client: an inline image is counted by
 * the size its header declares (tokens/images.ts), whatever its format, and a header declaring an
 * absurd size is counted by the rule's bound, not turned into a failed request.
 */

const SECRET = "sk-test-images";
const MODEL = "prov/llama-3.1-8b";
const t = demoProxyPerTest({ secret: SECRET, org: "org-images", direct: true, listings: (url) => [fakeListing(url, { slug: MODEL })] });
const client = () => new OpenAI({ baseURL: `${t.gateway.url}/v1`, apiKey: SECRET, maxRetries: 0 });
const imageMessage = (url: string) => [{ role: "user" as const, content: [{ type: "image_url" as const, image_url: { url, detail: "high" as const } }] }];

describe("inline images in a chat request", () => {
  it("a JPEG is counted by its declared size, below what an image of unknown size is held at", async () => {
    // SOF0 declaring 1024×1024, 3 components.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x04, 0x00, 0x04, 0x00, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]);
    const messages = imageMessage(`data:image/jpeg;base64,${jpeg.toString("base64")}`);
    const r = await client().chat.completions.create({ model: MODEL, messages, max_tokens: 5 });
    expect(r.usage!.prompt_tokens).toBe(chatPromptTokens("llama3", { messages }));
    expect(chatPromptTokens("llama3", { messages })).toBeLessThan(chatPromptTokens("llama3", { messages: imageMessage("https://example.test/y.jpg") }));
    await reported(t.backend, 1);
  });

  it("a PNG declaring 2147483647×1 pixels is served and billed, not answered with a 500", async () => {
    const png = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    png.writeUInt32BE(13, 8);
    png.write("IHDR", 12);
    png.writeUInt32BE(0x7fffffff, 16);
    png.writeUInt32BE(1, 20);
    const r = await client().chat.completions.create({
      model: MODEL,
      max_tokens: 5,
      messages: imageMessage(`data:image/png;base64,${png.toString("base64")}`),
    });
    expect(Number.isSafeInteger(r.usage!.prompt_tokens)).toBe(true);
    await reported(t.backend, 1);
  });
});
