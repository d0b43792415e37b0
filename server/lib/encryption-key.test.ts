import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseEncryptionKey } from "./encryption-key";

describe("parseEncryptionKey", () => {
  const raw = randomBytes(32);
  it.each([
    ["hex", raw.toString("hex")],
    ["base64", raw.toString("base64")],
    ["base64url (what the launcher generates)", raw.toString("base64url")],
  ])("accepts %s", (_l, text) => expect(parseEncryptionKey(text).equals(raw)).toBe(true));
  it.each([
    ["16 bytes", randomBytes(16).toString("hex")],
    ["33 bytes base64", randomBytes(33).toString("base64")],
    ["not base64", "this is not a key at all, not even close!!"],
    ["empty", ""],
  ])("refuses %s", (_l, text) => expect(() => parseEncryptionKey(text)).toThrow(/32 bytes/));
});
