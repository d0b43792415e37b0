import { describe, expect, it } from "vitest";
import { formError } from "./form-errors";

describe("formError names fields as the form labels them", () => {
  const labels = { amountUsd: "Amount (USD)", "prices.input": "Input price", "prices.cachedInput": "Cached input price", spendLimitUsd: "Spend limit (USD)" };
  it.each([
    ["a domain error", "amountUsd: use whole cents", "Amount (USD): use whole cents"],
    ["a nested zod path", "prices.input: must be a decimal", "Input price: must be a decimal"],
    ["several fields", "prices.input: bad; prices.cachedInput: worse", "Input price: bad; Cached input price: worse"],
    ["a field name inside the text is left alone", 'spendLimitUsd: "1,000" could be 1000 or 1.000', 'Spend limit (USD): "1,000" could be 1000 or 1.000'],
    ["an unlabelled field stays", "limitPeriod: choose daily", "limitPeriod: choose daily"],
    ["no field at all", "Sign in first", "Sign in first"],
  ])("%s", (_label, message, shown) => {
    expect(formError({ message }, labels)).toBe(shown);
  });

  it("no error, no text", () => {
    expect(formError(null, labels)).toBeUndefined();
  });
});
