import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../gateway/spawn";
import { backoffMs, type NatsLink, openNatsLink, redactUrl } from "./nats";
import { type NatsServer, startNatsServer } from "./nats-server";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(opts: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServer> {
  const s = await startNatsServer(opts);
  cleanups.push(() => s.dispose());
  return s;
}

function link(url: string): NatsLink {
  const l = openNatsLink(url, { minBackoffMs: 20, maxBackoffMs: 200 });
  cleanups.push(() => l.close());
  return l;
}

async function until(check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("backoff", () => {
  it.each([
    { label: "first attempt waits the minimum", attempt: 0, random: 1, want: 100 },
    { label: "doubles each attempt", attempt: 3, random: 1, want: 800 },
    { label: "is capped at the maximum", attempt: 20, random: 1, want: 5_000 },
    { label: "a huge attempt count stays capped", attempt: 10_000, random: 1, want: 5_000 },
    { label: "jitter takes off at most 20%", attempt: 0, random: 0, want: 80 },
  ])("$label", ({ attempt, random, want }) => {
    expect(backoffMs(attempt, 100, 5_000, () => random)).toBe(want);
  });

  it("never logs credentials in a URL", () => {
    expect(redactUrl("nats://user:secret@host:4222")).toBe("nats://***@host:4222");
    expect(redactUrl("nats://host:4222")).toBe("nats://host:4222");
  });
});

describe("NATS link against a real nats-server -js", () => {
  it("connects, publishes to JetStream and reports its status", async () => {
    const s = await server();
    const l = link(s.url);
    const nc = await l.ready();
    expect(l.status()).toBe("connected");
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "T", subjects: ["t.>"] });
    const ack = await jetstream(nc).publish("t.a", "x", { msgID: "m1" });
    expect(ack.seq).toBe(1);
  });

  it("does not throw while NATS is down, and connects once it comes up", async () => {
    const port = await freePort();
    const l = link(`nats://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(l.status()).toBe("connecting");
    expect(l.connection()).toBeNull();
    await server({ port });
    await l.ready();
    expect(l.status()).toBe("connected");
  });

  it("reconnects after the server restarts, and the stream survives on disk", async () => {
    const s = await server();
    const l = link(s.url);
    const seen: string[] = [];
    l.onStatus((st) => seen.push(st));
    const nc = await l.ready();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "R", subjects: ["r.>"] });
    await jetstream(nc).publish("r.a", "before");
    await s.stop("SIGKILL");
    await until(() => l.status() === "reconnecting");
    await s.start();
    await until(() => l.status() === "connected");
    expect(seen).toEqual(["connected", "reconnecting", "connected"]);
    const info = await jsm.streams.info("R");
    expect(info.state.messages).toBe(1);
  });

  it("close() while still connecting ends cleanly and rejects waiters", async () => {
    const port = await freePort();
    const l = openNatsLink(`nats://127.0.0.1:${port}`, { minBackoffMs: 20 });
    const waiting = l.ready();
    await l.close();
    await expect(waiting).rejects.toThrow(/closed/);
    expect(l.status()).toBe("closed");
  });

  it("a missing binary is a clear error", async () => {
    await expect(startNatsServer({ bin: "/nonexistent/nats-server" })).rejects.toThrow(/cannot run/);
  });
});
