import { describe, expect, it } from "vitest";
import { keyStatus, validUntil, type KeyStatus } from "./status";

const now = new Date("2026-03-15T12:00:00Z");
const before = new Date("2026-03-15T11:00:00Z");
const after = new Date("2026-03-15T13:00:00Z");

describe("keyStatus", () => {
  const rows: [string, Date | null, Date | null, KeyStatus][] = [
    ["no revocation, no expiry", null, null, "active"],
    ["expiry in the future", null, after, "active"],
    ["expired", null, before, "expired"],
    ["expires exactly now", null, now, "expired"],
    ["revoked", before, null, "revoked"],
    ["revoked exactly now", now, null, "revoked"],
    ["revocation scheduled (rotation grace) still works", after, null, "active"],
    ["revoked and expired: revoked wins", before, before, "revoked"],
    ["expired while a scheduled revocation is pending", after, before, "expired"],
  ];
  it.each(rows)("%s", (_label, revokedAt, expiresAt, status) => {
    expect(keyStatus({ revokedAt, expiresAt }, now)).toBe(status);
  });
});

describe("validUntil", () => {
  it.each([
    ["never", null, null, null],
    ["expiry only", null, after, after],
    ["scheduled revocation only", after, null, after],
    ["the earlier of the two", after, new Date("2026-03-15T12:30:00Z"), new Date("2026-03-15T12:30:00Z")],
  ])("%s", (_label, revokedAt, expiresAt, expected) => {
    expect(validUntil({ revokedAt, expiresAt })).toEqual(expected);
  });
});
