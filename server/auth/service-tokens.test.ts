import { describe, expect, it } from "vitest";
import { serviceTokenMatcher } from "./service-tokens";

const platform = "p".repeat(40);
const acme = "a".repeat(40);

describe("serviceTokenMatcher", () => {
  const match = serviceTokenMatcher(platform, `acme-gpu:${acme}, other:${"o".repeat(40)}`);
  it.each([
    ["platform token", platform, { kind: "platform" }],
    ["provider token carries its organisation", acme, { kind: "provider", orgSlug: "acme-gpu" }],
    ["unknown token", "x".repeat(40), null],
    ["prefix of a real token", platform.slice(0, 39), null],
    ["no token", null, null],
    ["empty token", "", null],
  ])("%s", (_label, token, identity) => {
    expect(match(token)).toEqual(identity);
  });
  it("with nothing configured, nothing matches", () => {
    expect(serviceTokenMatcher(undefined, undefined)(platform)).toBeNull();
  });
});
