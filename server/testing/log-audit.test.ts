import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../lib/logger";
import { findLeaks, leakReport } from "./log-audit";
import { secretsFile } from "./secrets";

const KEY = `tm_${"Zx9".repeat(14)}q`;
const CREDENTIAL = "sk-provider-credential-7f3a";
const dirs: string[] = [];

/** A run's LOG_DIR with `secrets` registered by some test process, and a logger writing there. */
function run(secrets: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-audit-"));
  dirs.push(dir);
  fs.mkdirSync(path.dirname(secretsFile(dir, 4242)), { recursive: true });
  fs.writeFileSync(secretsFile(dir, 4242), secrets.map((s) => `${s}\n`).join(""));
  // The console stays quiet; the file gets every line, as in a test run.
  const log = createLogger("proxy", { settings: { LOG_LEVEL: "info", LOG_CONSOLE_LEVEL: "silent", LOG_FORMAT: "json", LOG_DIR: dir } });
  return { dir, log };
}

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("the log audit", () => {
  it("passes a run whose lines hold no secret", () => {
    const { dir, log } = run([CREDENTIAL, KEY]);
    log.info({ requestId: "0190aaaa", listing: "acme/model", costNano: "1200" }, "request billed");
    expect(findLeaks(dir)).toEqual([]);
  });

  it("catches a planted registered secret, naming the file and line and masking the secret", () => {
    const { dir, log } = run([CREDENTIAL]);
    log.info("a clean line");
    log.warn({ upstream: { note: `rejected ${CREDENTIAL}` } }, "upstream refused");
    const leaks = findLeaks(dir);
    expect(leaks).toEqual([{ file: `proxy-${process.pid}.log`, line: 2, secret: "sk-p…", text: expect.stringContaining("«sk-p…»") }]);
    expect(leaks[0]!.text).not.toContain(CREDENTIAL);
    expect(leakReport(leaks)).toMatch(/^1 logged line\(s\) hold a secret:\n {2}proxy-\d+\.log:2 \(sk-p…\)/);
  });

  it("catches an API key nobody registered, where the logger's scrubbing cannot reach (a field's value)", () => {
    const { dir, log } = run([]);
    log.warn({ detail: `Bearer ${KEY}` }, "auth failed");
    expect(findLeaks(dir)).toMatchObject([{ line: 1, secret: "tm_Z…" }]);
  });

  it("catches a demo upstream credential (the seed's, never registered)", () => {
    const { dir, log } = run([]);
    log.warn({ upstream: "authorization: Bearer demo-upstream-key-demo-provider-llama-3.1-8b" }, "upstream refused");
    expect(findLeaks(dir)).toMatchObject([{ line: 1, secret: "demo…" }]);
  });

  it("catches a fixed secret passed by the run's configuration", () => {
    const { dir, log } = run([]);
    log.error({ pepper: "test-key-pepper-0123456789abcdef" }, "misconfigured");
    expect(findLeaks(dir, ["test-key-pepper-0123456789abcdef"])).toHaveLength(1);
  });
});
