import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, keysetPage, pageFetchSize, pageLimit } from "./paging";

describe("keysetPage", () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}` }));
  it.each([
    { label: "fewer rows than the page: last page", found: 2, limit: 3, shown: 2, next: null },
    { label: "exactly the page: last page", found: 3, limit: 3, shown: 3, next: null },
    { label: "the extra row came back: next page after the last shown", found: 4, limit: 3, shown: 3, next: "r2" },
    { label: "no rows", found: 0, limit: 3, shown: 0, next: null },
  ])("$label", ({ found, limit, shown, next }) => {
    const page = keysetPage(
      rows(found),
      limit,
      (r) => r.id,
      (r) => r.id.toUpperCase(),
    );
    expect(page.items).toHaveLength(shown);
    expect(page.items[0] ?? null).toBe(found ? "R0" : null);
    expect(page.nextCursor).toBe(next);
  });

  it("fetches one row more than it shows", () => expect(pageFetchSize(50)).toBe(51));
});

describe("pageLimit", () => {
  it.each([
    { label: "default when absent", limit: undefined, out: 50 },
    { label: "default when null", limit: null, out: 50 },
    { label: "at least one", limit: 0, out: 1 },
    { label: "at most the maximum", limit: 10_000, out: 200 },
    { label: "as asked within bounds", limit: 7, out: 7 },
  ])("$label", ({ limit, out }) => expect(pageLimit(limit, 50, 200)).toBe(out));
});

describe("cursor", () => {
  it("round-trips its parts", () => {
    const parts = ["2026-11-23 16:00:00.123456+00", "0190f0a0-0000-7000-8000-000000000001"];
    expect(decodeCursor(encodeCursor(parts), 2)).toEqual(parts);
  });
  it.each([
    { label: "not base64 JSON", s: "%%%" },
    { label: "wrong arity", s: encodeCursor(["a"]) },
    { label: "not strings", s: Buffer.from("[1,2]").toString("base64url") },
    { label: "an object", s: Buffer.from('{"a":1}').toString("base64url") },
  ])("rejects $label", ({ s }) => expect(decodeCursor(s, 2)).toBeNull());
});
