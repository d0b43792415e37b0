import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "./env";

describe("catalog configuration", () => {
  it.each([
    ["hex key", randomBytes(32).toString("hex")],
    ["base64url key (what the launcher generates)", randomBytes(32).toString("base64url")],
  ])("accepts a %s", (_label, key) => {
    expect(parseEnv({ CATALOG_ENCRYPTION_KEY: key }).CATALOG_ENCRYPTION_KEY).toBe(key);
  });

  it.each([
    ["a 16-byte key", randomBytes(16).toString("hex")],
    ["a passphrase", "correct horse battery staple"],
  ])("refuses %s, naming the variable", (_label, key) => {
    expect(() => parseEnv({ CATALOG_ENCRYPTION_KEY: key })).toThrow(EnvError);
    expect(() => parseEnv({ CATALOG_ENCRYPTION_KEY: key })).toThrow(/CATALOG_ENCRYPTION_KEY: must be 32 bytes/);
  });

  it("defaults the demo upstream port and the proxy's public URL", () => {
    expect(parseEnv({})).toMatchObject({ DEMO_UPSTREAM_PORT: 8790, GATEWAY_PUBLIC_URL: "http://localhost:8787/v1" });
  });
});
