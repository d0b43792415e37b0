import { describe, expect, it } from "vitest";
import { FakeBackend } from "./fake-backend";
import { KeyCache } from "./key-cache";

describe("KeyCache", () => {
  it("resolves once per secret, concurrent callers included, then serves from memory", async () => {
    const backend = new FakeBackend();
    backend.addKey("sk-a", "org");
    const keys = new KeyCache(backend);
    await Promise.all([keys.resolve("sk-a"), keys.resolve("sk-a"), keys.resolve("sk-a")]);
    await keys.poll();
    await keys.resolve("sk-a");
    expect(backend.calls.resolveKey).toBe(2); // the first poll drops what was cached before it
    await keys.resolve("sk-a");
    expect(backend.calls.resolveKey).toBe(2);
  });

  it("caches unknown keys briefly too", async () => {
    let now = 0;
    const backend = new FakeBackend();
    const keys = new KeyCache(backend, { now: () => now });
    await keys.poll();
    expect((await keys.resolve("sk-nope")).resolution.status).toBe("unknown");
    await keys.resolve("sk-nope");
    expect(backend.calls.resolveKey).toBe(1);
    now += 5_001;
    await keys.poll();
    await keys.resolve("sk-nope");
    expect(backend.calls.resolveKey).toBe(2);
  });

  it("evicts a key changed since the last poll (revocation)", async () => {
    const backend = new FakeBackend();
    backend.addKey("sk-a", "org");
    const keys = new KeyCache(backend);
    await keys.poll();
    expect((await keys.resolve("sk-a")).resolution.status).toBe("active");
    backend.revoke("sk-a");
    expect(keys.peek("sk-a")).not.toBeNull();
    await keys.poll();
    expect(keys.peek("sk-a")).toBeNull();
    expect((await keys.resolve("sk-a")).resolution.status).toBe("revoked");
  });

  it("stops trusting cached keys when polls fail for longer than staleMs", async () => {
    let now = 0;
    const backend = new FakeBackend();
    backend.addKey("sk-a", "org");
    const keys = new KeyCache(backend, { now: () => now, staleMs: 4_000 });
    await keys.poll();
    await keys.resolve("sk-a");
    backend.down = true;
    now += 3_000;
    await keys.poll();
    expect(keys.peek("sk-a")).not.toBeNull();
    now += 1_500;
    await keys.poll();
    expect(keys.peek("sk-a")).toBeNull();
  });

  // Issue #15: a flood of well-formed unknown keys evicted cached real keys.
  it("a flood of unknown keys never evicts a real one", async () => {
    const backend = new FakeBackend();
    backend.addKey("sk-real", "org");
    const keys = new KeyCache(backend, { maxEntries: 10, maxUnknown: 10 });
    await keys.poll();
    await keys.resolve("sk-real");
    for (let i = 0; i < 1000; i++) await keys.resolve(`sk-made-up-${i}`);
    expect(keys.peek("sk-real")?.resolution.status).toBe("active");
    expect(keys.peek("sk-made-up-999")?.resolution.status).toBe("unknown");
    expect(keys.peek("sk-made-up-0")).toBeNull();
  });

  // Issue #15: a resolution in flight when its key was revoked stayed cached as active for 30 s.
  it("a resolution in flight across a revocation is asked again, not cached as active", async () => {
    const backend = new FakeBackend();
    backend.addKey("sk-a", "org");
    const keys = new KeyCache(backend);
    await keys.poll();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = backend.resolveKey.bind(backend);
    let first = true;
    backend.resolveKey = async (secret: string) => {
      const answer = await real(secret);
      if (first) {
        first = false;
        await gate;
      }
      return answer;
    };
    const pending = keys.resolve("sk-a");
    await new Promise((r) => setTimeout(r, 10));
    backend.revoke("sk-a");
    await keys.poll();
    release();
    expect((await pending).resolution.status).toBe("revoked");
    expect(keys.peek("sk-a")?.resolution.status).toBe("revoked");
  });
});
