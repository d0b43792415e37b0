import { describe, expect, it } from "vitest";
import { sameOriginPath } from "./redirect";

// Issue #15: these passed the old startsWith("/") check after sign-in and sign-up.
describe("sameOriginPath", () => {
  const rows: [string, string | undefined, string][] = [
    ["a backslash read as a slash", "/\\evil.example", "/"],
    ["a tab between the slashes (%09 as Next decodes it)", "/\t/evil.example", "/"],
    ["a newline between the slashes", "/\n/evil.example", "/"],
    ["%09 left encoded", "/%09/evil.example", "/%09/evil.example"],
    ["protocol-relative", "//evil.example", "/"],
    ["absolute", "https://evil.example", "/"],
    ["javascript:", "javascript:alert(1)", "/"],
    ["absent", undefined, "/"],
    ["a plain path with query and fragment", "/console/keys?tab=all#new", "/console/keys?tab=all#new"],
    ["dot segments stay on the site", "/a/../b", "/b"],
  ];
  it.each(rows)("%s", (_label, target, expected) => expect(sameOriginPath(target, "/")).toBe(expected));
});
