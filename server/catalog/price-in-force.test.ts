import { describe, expect, it } from "vitest";
import { earliestPriceChange, PRICE_NOTICE_MS, priceInForce } from "./price-in-force";
import { CATALOG_REFRESH_MAX_MS } from "../contract/catalog";

const at = (iso: string) => new Date(iso).getTime();
const v = (iso: string, name: string) => ({ effectiveFrom: new Date(iso), name });
const jan = v("2030-01-01T00:00:00.000Z", "jan");
const feb = v("2030-02-01T00:00:00.000Z", "feb");
const mar = v("2030-03-01T12:30:00.000Z", "mar");

describe("priceInForce: the latest version that started at or before t", () => {
  const rows: [string, (typeof jan)[], string, string | null][] = [
    ["no versions: no price", [], "2030-01-15T00:00:00.000Z", null],
    ["1 ms before the first version: no price", [jan, feb], "2029-12-31T23:59:59.999Z", null],
    ["at the first version's first instant", [jan, feb], "2030-01-01T00:00:00.000Z", "jan"],
    ["1 ms before a change: the old price", [jan, feb], "2030-01-31T23:59:59.999Z", "jan"],
    ["at a change's first instant: the new price", [jan, feb], "2030-02-01T00:00:00.000Z", "feb"],
    ["between two changes", [jan, feb, mar], "2030-02-15T00:00:00.000Z", "feb"],
    ["long after the last change", [jan, feb, mar], "2099-01-01T00:00:00.000Z", "mar"],
    ["versions in any order", [mar, jan, feb], "2030-02-15T00:00:00.000Z", "feb"],
    ["a scheduled version does not count before its time", [jan, mar], "2030-03-01T12:29:59.999Z", "jan"],
  ];
  it.each(rows)("%s", (_label, versions, t, expected) => {
    expect(priceInForce(versions, at(t))?.name ?? null).toBe(expected);
  });
});

describe("the price notice period", () => {
  it("outlasts two catalog refreshes of a proxy, so one failed refresh is survived", () => {
    expect(PRICE_NOTICE_MS).toBeGreaterThan(2 * CATALOG_REFRESH_MAX_MS);
    expect(PRICE_NOTICE_MS).toBe(30_000);
  });

  it("the earliest change is now + the notice", () => {
    expect(earliestPriceChange(at("2030-01-01T00:00:00.000Z"))).toBe(at("2030-01-01T00:00:30.000Z"));
  });
});
