import { describe, expect, it } from "vitest";
import { PRICE_NOTICE_MS } from "../catalog/price-in-force";
import { MIN_MEASURED_SAMPLE } from "../catalog/sample";
import { CATALOG_REFRESH_MAX_MS } from "../contract/catalog";
import { CatalogCache } from "./catalog-cache";
import { FakeBackend } from "./fake-backend";

describe("CatalogCache.throughput: this proxy's own figure for 'fastest' routing", () => {
  it("is none until the minimum sample, then the weighted average", () => {
    const cache = new CatalogCache(new FakeBackend());
    // One fast call is not a figure: routing must not rank by it.
    cache.observeThroughput("l1", 1310);
    expect(cache.throughput("l1")).toBeUndefined();
    for (let i = 1; i < MIN_MEASURED_SAMPLE - 1; i++) cache.observeThroughput("l1", 100);
    expect(cache.throughput("l1")).toBeUndefined();
    cache.observeThroughput("l1", 100);
    expect(cache.throughput("l1")).toBeCloseTo(100 + 1210 * 0.8 ** (MIN_MEASURED_SAMPLE - 1), 6);
  });

  it("ignores measurements that are not positive numbers", () => {
    const cache = new CatalogCache(new FakeBackend());
    for (let i = 0; i < MIN_MEASURED_SAMPLE; i++) cache.observeThroughput("l1", i % 2 ? Number.NaN : -5);
    expect(cache.throughput("l1")).toBeUndefined();
  });
});

describe("CatalogCache refresh interval", () => {
  it("may not exceed the bound the price notice is sized by", () => {
    expect(PRICE_NOTICE_MS).toBeGreaterThan(2 * CATALOG_REFRESH_MAX_MS);
    expect(() => new CatalogCache(new FakeBackend(), { refreshMs: CATALOG_REFRESH_MAX_MS })).not.toThrow();
    expect(() => new CatalogCache(new FakeBackend(), { refreshMs: CATALOG_REFRESH_MAX_MS + 1 })).toThrow(/refreshMs: at most 10000 ms/);
  });
});
