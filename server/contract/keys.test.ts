import { describe, expect, it } from "vitest";
import { keyLimitPeriod } from "../../db/schema";
import { KEY_LIMIT_PERIODS } from "./keys";

describe("the keys contract", () => {
  it("names the same limit periods as the database enum (the proxy may not import db/)", () => {
    expect([...KEY_LIMIT_PERIODS]).toEqual(keyLimitPeriod.enumValues);
  });
});
