import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { credentialLast4, decryptCredential, encryptCredential, maskCredential } from "./crypto";

const key = randomBytes(32);

describe("credential encryption", () => {
  it("round-trips and never contains the plaintext", () => {
    const secret = "sk-live-abcdefghijklmnop1234";
    const enc = encryptCredential(secret, key, "listing-1");
    expect(enc).not.toContain(secret);
    expect(enc).not.toContain(Buffer.from(secret).toString("base64url"));
    expect(decryptCredential(enc, key, "listing-1")).toBe(secret);
  });
  it("uses a fresh IV each time", () => {
    expect(encryptCredential("same", key, "l")).not.toBe(encryptCredential("same", key, "l"));
  });
  it("fails with another key, another listing id, or a tampered ciphertext", () => {
    const enc = encryptCredential("sk-secret-value", key, "listing-1");
    expect(() => decryptCredential(enc, randomBytes(32), "listing-1")).toThrow();
    expect(() => decryptCredential(enc, key, "listing-2")).toThrow();
    const parts = enc.split(".");
    const data = Buffer.from(parts[3]!, "base64url");
    data[0] = data[0]! ^ 1;
    expect(() => decryptCredential([parts[0], parts[1], parts[2], data.toString("base64url")].join("."), key, "listing-1")).toThrow();
  });
});

describe("masking", () => {
  it.each([
    ["long key shows last 4", "sk-abcdefgh1234", "••••1234"],
    ["short key shows nothing of itself", "short", "••••"],
  ])("%s", (_l, secret, mask) => expect(maskCredential(credentialLast4(secret))).toBe(mask));
  it("no credential, no mask", () => expect(maskCredential(null)).toBeNull());
});

it("refuses a ciphertext whose authentication tag was truncated", () => {
  const key = Buffer.alloc(32, 7);
  const stored = encryptCredential("sk-upstream-secret", key, "listing-1");
  const [v, iv, tag, data] = stored.split(".");
  const short = [v, iv, Buffer.from(tag!, "base64url").subarray(0, 4).toString("base64url"), data].join(".");
  expect(() => decryptCredential(short, key, "listing-1")).toThrow();
});
