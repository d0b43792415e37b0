import { describe, expect, it } from "vitest";
import { clientIp } from "./client-ip";

describe("clientIp: X-Forwarded-For trusted only as far as our own proxies wrote it", () => {
  const rows: [string, string | null, number, string | null][] = [
    ["no trusted proxy: a spoofed header is ignored", "6.6.6.6", 0, null],
    ["one proxy: the entry it appended", "6.6.6.6, 203.0.113.7", 1, "203.0.113.7"],
    ["one proxy, no spoofing", "203.0.113.7", 1, "203.0.113.7"],
    ["two proxies: the client before the inner one", "6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"],
    ["fewer entries than proxies", "10.0.0.2", 2, null],
    ["no header behind a proxy", null, 1, null],
  ];
  it.each(rows)("%s", (_label, header, hops, expected) => {
    const headers = new Headers(header === null ? {} : { "x-forwarded-for": header });
    expect(clientIp(headers, hops)).toBe(expected);
  });
});
