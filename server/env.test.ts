import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EnvError, logEnv, parseEnv } from "./env";

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

describe("the outbound policy's configuration", () => {
  it("reads UPSTREAM_ALLOW_PRIVATE as host:port pairs (IPv6 in brackets), none by default", () => {
    expect([...parseEnv({}).UPSTREAM_ALLOW_PRIVATE]).toEqual([]);
    expect([...parseEnv({ UPSTREAM_ALLOW_PRIVATE: "127.0.0.1:8790, GPU-box.lan:8000,[::1]:11434" }).UPSTREAM_ALLOW_PRIVATE]).toEqual([
      "127.0.0.1:8790",
      "gpu-box.lan:8000",
      "::1:11434",
    ]);
  });

  it("refuses an entry without a port, naming the variable and the entry", () => {
    expect(() => parseEnv({ UPSTREAM_ALLOW_PRIVATE: "127.0.0.1:8790,localhost" })).toThrow(/UPSTREAM_ALLOW_PRIVATE: "localhost" is not host:port/);
  });

  it("bounds the request time cap", () => {
    expect(parseEnv({}).GATEWAY_MAX_REQUEST_SECONDS).toBe(150);
    expect(() => parseEnv({ GATEWAY_MAX_REQUEST_SECONDS: "5000" })).toThrow(/GATEWAY_MAX_REQUEST_SECONDS/);
  });
});

describe("the logging configuration", () => {
  it("defaults to JSON lines at info, no files", () => {
    expect(logEnv({})).toEqual({ LOG_LEVEL: "info", LOG_FORMAT: "json" });
  });

  it.each([
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["LOG_FORMAT", { LOG_FORMAT: "xml" }],
    ["LOG_CONSOLE_LEVEL", { LOG_CONSOLE_LEVEL: "everything" }],
  ])("refuses a bad %s, naming it", (name, source) => {
    expect(() => logEnv(source)).toThrow(EnvError);
    expect(() => logEnv(source)).toThrow(new RegExp(`${name}: `));
  });

  it("reads the logging variables even when others are invalid (a process logs that error first)", () => {
    expect(logEnv({ LOG_LEVEL: "warn", PORT: "not a port" }).LOG_LEVEL).toBe("warn");
    expect(() => parseEnv({ LOG_LEVEL: "warn", PORT: "not a port" })).toThrow(/PORT/);
  });
});

describe("the usage bus's configuration", () => {
  it("is off by default (usage over HTTP), with the stream's limits defaulted", () => {
    expect(parseEnv({}).NATS_URL).toBeUndefined();
    expect(parseEnv({})).toMatchObject({ USAGE_BUS_SHARDS: 4, USAGE_BUS_REPLICAS: 1, USAGE_BUS_DUPLICATE_WINDOW_SECONDS: 120 });
  });

  it("accepts one NATS URL or a comma-separated cluster", () => {
    expect(parseEnv({ NATS_URL: "nats://a:4222, nats://b:4222" }).NATS_URL).toBe("nats://a:4222, nats://b:4222");
  });

  it.each([
    ["an http URL", { NATS_URL: "http://nats:4222" }, /NATS_URL: must be nats:\/\/ URLs/],
    ["no shards", { USAGE_BUS_SHARDS: "0" }, /USAGE_BUS_SHARDS/],
    ["more replicas than JetStream allows", { USAGE_BUS_REPLICAS: "7" }, /USAGE_BUS_REPLICAS/],
    ["a single delivery (no redelivery after a crash)", { USAGE_BUS_MAX_DELIVER: "1" }, /USAGE_BUS_MAX_DELIVER/],
  ])("refuses %s, naming the variable", (_label, source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });
});

describe("shared rate limits' configuration", () => {
  it("is off by default (each proxy counts its own) and takes a redis:// or rediss:// URL", () => {
    expect(parseEnv({}).REDIS_URL).toBeUndefined();
    expect(parseEnv({ REDIS_URL: "redis://127.0.0.1:6379" }).REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(parseEnv({ REDIS_URL: "rediss://user:secret@redis.example:6380/2" }).REDIS_URL).toBe("rediss://user:secret@redis.example:6380/2");
  });

  it.each([
    ["an http URL", "http://redis:6379"],
    ["a bare host", "redis:6379"],
  ])("refuses %s, naming the variable", (_label, url) => {
    expect(() => parseEnv({ REDIS_URL: url })).toThrow(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});
