import { describe, expect, it } from "vitest";
import { FakeBackend } from "./fake-backend";
import { CreditControl, defaultCreditOptions, isHold, type Hold } from "./reservations";

function setup(balanceNano: bigint, chunkNano = 100n) {
  const backend = new FakeBackend();
  const keyId = backend.addKey("sk-1", "org-1");
  backend.balances.set("org-1", balanceNano);
  const credit = new CreditControl(backend, { ...defaultCreditOptions, chunkNano });
  return { backend, keyId, credit };
}

/** setup() on a clock the test moves. */
function clocked(balanceNano: bigint) {
  const clock = { now: 1_000_000 };
  const backend = new FakeBackend();
  const keyId = backend.addKey("sk-1", "org-1");
  backend.balances.set("org-1", balanceNano);
  const credit = new CreditControl(backend, { ...defaultCreditOptions, chunkNano: 100n, now: () => clock.now });
  return { backend, keyId, credit, clock };
}

describe("CreditControl", () => {
  it("serves many requests from one reservation and asks for the next chunk ahead of need", async () => {
    const { backend, keyId, credit } = setup(10_000n);
    const holds: Hold[] = [];
    for (let i = 0; i < 7; i++) {
      const h = await credit.acquire(keyId, 10n);
      expect(isHold(h)).toBe(true);
      holds.push(h as Hold);
    }
    // 100 granted; below 25 left after the 8th hold the refill is asked in the background.
    expect(backend.calls.reserve).toBe(1);
    await credit.acquire(keyId, 10n);
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.calls.reserve).toBe(2);
  });

  it("asks one reservation for all concurrent requests of a key", async () => {
    const { backend, keyId, credit } = setup(10_000n, 1000n);
    const results = await Promise.all(Array.from({ length: 50 }, () => credit.acquire(keyId, 10n)));
    expect(results.every(isHold)).toBe(true);
    expect(backend.calls.reserve).toBe(1);
  });

  it("never holds more than the backend granted: the rest are refused", async () => {
    const { keyId, credit } = setup(55n, 100n);
    const results = await Promise.all(Array.from({ length: 20 }, () => credit.acquire(keyId, 10n)));
    const held = results.filter(isHold);
    expect(held).toHaveLength(5);
    expect(held.reduce((s, h) => s + h.amountNano, 0n)).toBeLessThanOrEqual(55n);
    expect(results.filter((r) => !isHold(r))[0]).toMatchObject({ limitedBy: "credit" });
  });

  it("gives a flexible request what is left when it covers the minimum", async () => {
    const { keyId, credit } = setup(55n, 100n);
    const h = await credit.acquire(keyId, 80n, 20n);
    expect(h).toMatchObject({ amountNano: 55n });
    expect(await credit.acquire(keyId, 80n, 20n)).toMatchObject({ limitedBy: "credit" });
  });

  it("returns what a request did not use to the reservation", async () => {
    const { keyId, credit } = setup(100n, 100n);
    const h = (await credit.acquire(keyId, 90n)) as Hold;
    credit.settle(h, 30n);
    expect(credit.availableNano(keyId)).toBe(70n);
  });

  it("releases leftovers of idle keys (all at shutdown)", async () => {
    const { backend, keyId, credit } = setup(1000n, 100n);
    const h = (await credit.acquire(keyId, 40n)) as Hold;
    credit.settle(h, 15n);
    await credit.releaseIdle(true);
    const r = [...backend.reservations.values()][0]!;
    expect(r.releasedNano).toBe(85n);
    expect(credit.releasedNano).toBe(85n);
  });

  it("returns an idle key's chunk once it has been idle for idleMs, and not before", async () => {
    const { backend, keyId, credit, clock } = clocked(1000n);
    // A tiny call holds a whole chunk; its cost is 1 and the rest stays with the proxy.
    credit.settle((await credit.acquire(keyId, 5n)) as Hold, 1n);
    const r = [...backend.reservations.values()][0]!;
    clock.now += defaultCreditOptions.idleMs - 1;
    await credit.releaseIdle();
    expect(r.releasedNano).toBe(0n);
    clock.now += 1;
    await credit.releaseIdle();
    expect(r.releasedNano).toBe(99n);
    // The next request after the idle time gets a fresh chunk.
    expect(isHold(await credit.acquire(keyId, 5n))).toBe(true);
    expect(backend.calls.reserve).toBe(2);
  });

  it("an idle sweep while a request runs returns the leftover when that request ends", async () => {
    const { backend, keyId, credit, clock } = clocked(1000n);
    const h = (await credit.acquire(keyId, 40n)) as Hold;
    clock.now += defaultCreditOptions.idleMs;
    await credit.releaseIdle();
    const r = [...backend.reservations.values()][0]!;
    expect(r.releasedNano).toBe(0n);
    credit.settle(h, 10n);
    await credit.releaseIdle();
    expect(r.releasedNano).toBe(90n);
  });

  it("asks again after a refusal only once the backoff has passed", async () => {
    let now = 1_000_000;
    const backend = new FakeBackend();
    const keyId = backend.addKey("sk-1", "org-1");
    const credit = new CreditControl(backend, { ...defaultCreditOptions, chunkNano: 100n, now: () => now });
    expect(isHold(await credit.acquire(keyId, 10n))).toBe(false);
    backend.balances.set("org-1", 1000n);
    expect(isHold(await credit.acquire(keyId, 10n))).toBe(false);
    expect(backend.calls.reserve).toBe(1);
    now += defaultCreditOptions.refusalBackoffMs + 1;
    expect(isHold(await credit.acquire(keyId, 10n))).toBe(true);
  });

  it("asks again with the same reservation id after a lost answer, so nothing is held twice", async () => {
    let now = 1_000_000;
    const backend = new FakeBackend();
    const keyId = backend.addKey("sk-1", "org-1");
    backend.balances.set("org-1", 1000n);
    const credit = new CreditControl(backend, { ...defaultCreditOptions, chunkNano: 100n, now: () => now });
    const reserve = backend.reserve.bind(backend);
    let lose = true;
    backend.reserve = async (input) => {
      const out = await reserve(input);
      if (lose) {
        lose = false;
        throw new Error("connection reset after the backend answered");
      }
      return out;
    };
    expect(await credit.acquire(keyId, 10n)).toMatchObject({ limitedBy: "unavailable" });
    now += defaultCreditOptions.refusalBackoffMs + 1;
    expect(isHold(await credit.acquire(keyId, 10n))).toBe(true);
    expect(backend.reservations.size).toBe(1);
  });

  it("says the backend is unavailable when reserve fails", async () => {
    const { backend, keyId, credit } = setup(1000n);
    backend.down = true;
    expect(await credit.acquire(keyId, 10n)).toMatchObject({ limitedBy: "unavailable" });
  });

  // A provider's service token must name the listing each reservation is for (server/usage/service-scope.ts).
  it.each([
    ["platform token: one reservation per key, no listing named", false, [undefined], 1],
    ["provider token: one reservation per key and listing, each naming it", true, ["listing-a", "listing-b"], 2],
  ] as const)("%s", async (_label, perListing, named, reservations) => {
    const backend = new FakeBackend();
    const keyId = backend.addKey("sk-1", "org-1");
    backend.balances.set("org-1", 10_000n);
    const asked: (string | undefined)[] = [];
    const reserve = backend.reserve.bind(backend);
    backend.reserve = (input) => {
      asked.push((input as { listingId?: string }).listingId);
      return reserve(input);
    };
    const credit = new CreditControl(backend, { ...defaultCreditOptions, chunkNano: 100n, perListing });
    for (const listingId of ["listing-a", "listing-b", "listing-a", "listing-b"])
      expect(isHold(await credit.acquire(keyId, 10n, undefined, listingId))).toBe(true);
    expect(asked).toEqual(named);
    expect(backend.reservations.size).toBe(reservations);
    expect(credit.availableNano(keyId)).toBe(100n * BigInt(reservations) - 40n);
  });
});
