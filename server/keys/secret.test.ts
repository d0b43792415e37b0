import { describe, expect, it } from "vitest";
import { base62, displayParts, generateSecret, hashSecret, isWellFormedSecret, SECRET_BODY_LENGTH } from "./secret";

describe("base62", () => {
  it.each([
    ["zero pads to length", [0], 3, "000"],
    ["61 is the last digit", [61], 2, "0z"],
    ["62 carries", [62], 2, "10"],
    ["two bytes big-endian: 256 = 4·62 + 8", [1, 0], 3, "048"],
  ] as const)("%s", (_label, bytes, length, expected) => {
    expect(base62(Uint8Array.from(bytes), length)).toBe(expected);
  });

  it("32 bytes of 0xff fit the fixed body length exactly", () => {
    expect(base62(new Uint8Array(32).fill(0xff), SECRET_BODY_LENGTH)).toHaveLength(SECRET_BODY_LENGTH);
    expect(() => base62(new Uint8Array(33).fill(0xff), SECRET_BODY_LENGTH)).toThrow(RangeError);
  });
});

describe("secret format", () => {
  it.each([
    ["a fresh secret", generateSecret(), true],
    ["all-zero bytes still full length", generateSecret(new Uint8Array(32)), true],
    ["missing prefix", generateSecret().slice(3), false],
    ["wrong prefix", `sk_${generateSecret().slice(3)}`, false],
    ["one character short", generateSecret().slice(0, -1), false],
    ["one character long", `${generateSecret()}a`, false],
    ["non-base62 character", `${generateSecret().slice(0, -1)}-`, false],
    ["empty", "", false],
  ])("%s → %s", (_label, s, ok) => {
    expect(isWellFormedSecret(s)).toBe(ok);
  });

  it("secrets are 46 characters and differ each time", () => {
    const a = generateSecret();
    expect(a).toMatch(/^tm_[0-9A-Za-z]{43}$/);
    expect(generateSecret()).not.toBe(a);
  });

  it("refuses a byte source of the wrong size", () => {
    expect(() => generateSecret(new Uint8Array(16))).toThrow(RangeError);
  });
});

describe("hashSecret", () => {
  it.each([
    ["same secret, same pepper: same hash", "tm_a", "p1", "tm_a", "p1", true],
    ["other pepper: other hash", "tm_a", "p1", "tm_a", "p2", false],
    ["other secret: other hash", "tm_a", "p1", "tm_b", "p1", false],
  ])("%s", (_label, s1, p1, s2, p2, same) => {
    expect(hashSecret(s1, p1) === hashSecret(s2, p2)).toBe(same);
  });

  it("is 64 hex characters and refuses an empty pepper", () => {
    expect(hashSecret("tm_x", "pepper")).toMatch(/^[0-9a-f]{64}$/);
    expect(() => hashSecret("tm_x", "")).toThrow();
  });
});

describe("displayParts", () => {
  it("shows tm_ + 8 characters and the last 4", () => {
    const s = `tm_${"ABCDEFGH"}${"x".repeat(31)}WXYZ`;
    expect(displayParts(s)).toEqual({ prefix: "tm_ABCDEFGH", last4: "WXYZ" });
  });
});
