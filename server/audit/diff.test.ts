import { describe, expect, it } from "vitest";
import { changedFields } from "./diff";

describe("changedFields: what an audit entry changed, in words", () => {
  it.each([
    [
      "a spend limit raised: money as dollars, unchanged fields left out",
      { spendLimitNano: "10000000000", limitPeriod: "monthly" },
      { spendLimitNano: "25500000000", limitPeriod: "monthly" },
      [{ field: "spendLimitNano", label: "spend limit", before: "$10.00", after: "$25.50" }],
    ],
    [
      "an allowlist narrowed",
      { modelAllowlist: [] },
      { modelAllowlist: ["demo-provider/llama-3.1-8b"] },
      [{ field: "modelAllowlist", label: "models allowed", before: "none", after: "demo-provider/llama-3.1-8b" }],
    ],
    [
      "a creation lists every field",
      null,
      { email: "a@b.test", role: "developer" },
      [
        { field: "email", label: "email", before: "—", after: "a@b.test" },
        { field: "role", label: "role", before: "—", after: "developer" },
      ],
    ],
    ["a limit removed", { rpmLimit: 60 }, { rpmLimit: null }, [{ field: "rpmLimit", label: "requests per minute", before: "60", after: "—" }]],
    [
      "a status change beside a constant slug",
      { slug: "a/b", status: "draft" },
      { slug: "a/b", status: "published" },
      [{ field: "status", label: "status", before: "draft", after: "published" }],
    ],
    ["nothing changed", { a: 1 }, { a: 1 }, []],
  ])("%s", (_label, before, after, changes) => {
    expect(changedFields(before, after)).toEqual(changes);
  });
});
