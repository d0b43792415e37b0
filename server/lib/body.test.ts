import { describe, expect, it } from "vitest";
import { limitedRequest, readBodyLimited } from "./body";

const streamed = (chunks: number, size: number) =>
  new Request("http://x/", {
    method: "POST",
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < chunks; i++) c.enqueue(new Uint8Array(size));
        c.close();
      },
    }),
    duplex: "half",
  } as RequestInit);

describe("readBodyLimited", () => {
  it("reads a body within the limit exactly", async () => {
    expect((await readBodyLimited(new Request("http://x/", { method: "POST", body: "hello" }), 5))?.byteLength).toBe(5);
  });
  it("refuses a declared length past the limit without reading", async () => {
    const req = new Request("http://x/", { method: "POST", body: "x".repeat(10), headers: { "content-length": "10" } });
    expect(await readBodyLimited(req, 9)).toBeNull();
  });
  it("stops a streamed body at the limit", async () => {
    expect(await readBodyLimited(streamed(100, 1024), 10 * 1024)).toBeNull();
    expect((await readBodyLimited(streamed(10, 1024), 10 * 1024))?.byteLength).toBe(10 * 1024);
  });
  it("limitedRequest keeps method, headers and body", async () => {
    const req = await limitedRequest(new Request("http://x/a", { method: "POST", body: "{}", headers: { "x-k": "v" } }), 100);
    expect([req?.method, req?.headers.get("x-k"), await req?.text()]).toEqual(["POST", "v", "{}"]);
  });
});
