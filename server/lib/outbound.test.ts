import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboundAgent, OutboundRefused } from "./outbound";
import { outboundPolicyFrom, outboundRefusal, parseAllowPrivate, type OutboundPolicy } from "./outbound-policy";

const none: OutboundPolicy = { allowPrivate: new Set(), ownPorts: new Set([3000, 8787, 54329]) };

describe("outboundRefusal", () => {
  it.each([
    ["loopback", "127.0.0.1", 80],
    ["loopback elsewhere in 127/8", "127.1.2.3", 80],
    ["IPv6 loopback", "::1", 80],
    ["IPv4-mapped IPv6 loopback", "::ffff:127.0.0.1", 80],
    ["IPv4-mapped IPv6 metadata", "::ffff:169.254.169.254", 80],
    ["unspecified", "0.0.0.0", 80],
    ["IPv6 unspecified", "::", 80],
    ["10/8", "10.0.0.1", 80],
    ["172.16/12", "172.31.255.254", 80],
    ["192.168/16", "192.168.0.1", 80],
    ["link-local and cloud metadata", "169.254.169.254", 80],
    ["CGNAT 100.64/10", "100.64.0.1", 80],
    ["multicast", "224.0.0.1", 80],
    ["broadcast", "255.255.255.255", 80],
    ["IPv6 unique local fd00::/8", "fd00::1", 80],
    ["IPv6 link-local", "fe80::1", 80],
    ["IPv6 multicast", "ff02::1", 80],
  ])("refuses %s", (_label, address, port) => {
    expect(outboundRefusal("upstream.example", address, port, none)).toContain("resolves to a private address");
  });

  it.each([
    ["a public IPv4 address", "8.8.8.8", 443],
    ["a public IPv6 address", "2606:4700:4700::1111", 443],
    ["a public address on a port the platform uses locally", "8.8.8.8", 3000],
  ])("lets through %s", (_label, address, port) => {
    expect(outboundRefusal("upstream.example", address, port, none)).toBeNull();
  });

  it("lets a listed host:port through, by name or by address, and nothing else on that host", () => {
    const policy = { ...none, allowPrivate: parseAllowPrivate("127.0.0.1:8790, gpu-box.lan:8000, [::1]:11434") };
    expect(outboundRefusal("127.0.0.1", "127.0.0.1", 8790, policy)).toBeNull();
    expect(outboundRefusal("localhost", "127.0.0.1", 8790, policy)).toBeNull();
    expect(outboundRefusal("gpu-box.lan", "192.168.1.20", 8000, policy)).toBeNull();
    expect(outboundRefusal("::1", "::1", 11434, policy)).toBeNull();
    expect(outboundRefusal("127.0.0.1", "127.0.0.1", 8791, policy)).toContain("private address");
    expect(outboundRefusal("gpu-box.lan", "192.168.1.20", 22, policy)).toContain("private address");
  });

  it("refuses the platform's own ports on private addresses even when listed", () => {
    const policy = { ...none, allowPrivate: parseAllowPrivate("127.0.0.1:3000,127.0.0.1:54329") };
    expect(outboundRefusal("127.0.0.1", "127.0.0.1", 3000, policy)).toContain("own ports");
    expect(outboundRefusal("127.0.0.1", "127.0.0.1", 54329, policy)).toContain("own ports");
  });

  it("parseAllowPrivate names a bad entry", () => {
    expect(() => parseAllowPrivate("127.0.0.1")).toThrow('"127.0.0.1" is not host:port');
    expect(() => parseAllowPrivate("127.0.0.1:99999")).toThrow("is not host:port");
    expect([...parseAllowPrivate("")]).toEqual([]);
    expect([...parseAllowPrivate("[::ffff:127.0.0.1]:80")]).toEqual(["127.0.0.1:80"]);
  });
});

describe("the policed dispatcher", () => {
  let server: http.Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end("inside"));
    server.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("checks the address a name resolves to when it connects: a rebinding name never reaches loopback", async () => {
    // First answer public, then loopback: the check runs on the address actually dialled.
    let calls = 0;
    const rebinding = (_host: string, cb: (err: Error | null, a: { address: string; family: number }[]) => void) =>
      cb(null, [{ address: calls++ === 0 ? "203.0.113.10" : "127.0.0.1", family: 4 }]);
    const agent = outboundAgent(none, { connectTimeout: 200 }, rebinding);
    const before = connections;
    await expect(request(`http://rebind.example:${port}/`, { dispatcher: agent })).rejects.toBeDefined();
    const err = await request(`http://rebind.example:${port}/`, { dispatcher: agent }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundRefused);
    expect((err as Error).message).toContain("resolves to a private address (127.0.0.1)");
    expect(connections).toBe(before);
    await agent.close();
  });

  it("connects to a listed local upstream and keeps its connections: the check runs per connection, not per request", async () => {
    const agent = outboundAgent({ ...none, allowPrivate: parseAllowPrivate(`127.0.0.1:${port}`) });
    const before = connections;
    for (let i = 0; i < 20; i++) expect(await (await request(`http://127.0.0.1:${port}/`, { dispatcher: agent })).body.text()).toBe("inside");
    // undici may open a second socket while the first is still finishing a response; never one per request.
    expect(connections - before).toBeLessThanOrEqual(2);
    await agent.close();
  });
});

describe("outboundPolicyFrom", () => {
  it("counts the web app, the proxy, the embedded database and DATABASE_URL's server as the platform's own ports", () => {
    const p = outboundPolicyFrom({
      UPSTREAM_ALLOW_PRIVATE: new Set(),
      PORT: 3000,
      GATEWAY_PORT: 8787,
      PG_PORT: 54329,
      DATABASE_URL: "postgres://u:p@db.internal/tokenmarket",
    });
    expect([...p.ownPorts].sort()).toEqual([3000, 5432, 54329, 8787].sort());
  });
});
