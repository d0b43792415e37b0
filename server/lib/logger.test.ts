import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets } from "./logger";

const KEY = `tm_${"Ab1".repeat(14)}x`;

function capture(level: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  const log = createLogger("proxy", { settings: { LOG_LEVEL: level, LOG_FORMAT: "json", LOG_DIR: undefined }, stream });
  return { log, lines };
}

describe("the logger", () => {
  it("writes JSON lines naming the process, with the fields given", () => {
    const { log, lines } = capture();
    log.info({ requestId: "0190-abc", status: 200 }, "request done");
    expect(lines).toEqual([expect.objectContaining({ process: "proxy", level: 30, requestId: "0190-abc", status: 200, msg: "request done" })]);
    expect(typeof lines[0]!.time).toBe("number");
  });

  it("leaves out what is below LOG_LEVEL", () => {
    const { log, lines } = capture("info");
    log.debug("chatty");
    expect(lines).toEqual([]);
  });

  it.each([
    ["an authorization header", { headers: { authorization: `Bearer ${KEY}` } }],
    ["an x-api-key header", { headers: { "x-api-key": "sk-ant-whatever" } }],
    ["an upstream credential", { listing: { upstreamCredential: "provider-secret" } }],
    ["a service token", { serviceToken: "platform-token-0123456789abcdef0123" }],
    ["a prompt's messages", { request: { messages: [{ role: "user", content: "my secret plan" }] } }],
    ["a request's headers", { req: { headers: { authorization: "Bearer private" } } }],
    ["a request body", { body: '{"input":"private"}' }],
  ])("redacts %s passed by mistake", (_label, fields) => {
    const { log, lines } = capture();
    log.warn(fields, "oops");
    const text = JSON.stringify(lines);
    expect(text).toContain("[redacted]");
    for (const secret of [KEY, "sk-ant-whatever", "provider-secret", "platform-token", "my secret plan", "private"]) expect(text).not.toContain(secret);
  });

  it("scrubs key-shaped secrets from messages and errors", () => {
    const { log, lines } = capture();
    log.warn(`key ${KEY} refused`);
    log.error({ err: new Error(`upstream said: invalid key ${KEY}`) }, "failed");
    const text = JSON.stringify(lines);
    expect(text).not.toContain(KEY);
    expect(lines[0]!.msg).toBe("key [secret] refused");
    expect((lines[1]!.err as { message: string }).message).toBe("upstream said: invalid key [secret]");
  });

  it("drops a failed query's parameters from the error it logs", () => {
    const { log, lines } = capture();
    const err = new Error("Failed query: insert into users (email, password_hash) values ($1, $2)\nparams: a@b.example,$argon2id$v=19$secret");
    log.error({ err }, "query failed");
    const text = JSON.stringify(lines);
    expect(text).toContain("Failed query: insert into users");
    expect(text).not.toContain("argon2id");
  });

  it.each([
    ["an API key", KEY, "[secret]"],
    ["a Stripe secret key", "sk_test_51Habc", "[secret]"],
    ["a webhook secret", "whsec_abc123", "[secret]"],
    ["an ordinary text", "tm_short and sk-other", "tm_short and sk-other"],
  ])("scrubSecrets replaces %s", (_label, text, want) => {
    expect(scrubSecrets(text)).toBe(want);
  });

  it("also appends its lines to LOG_DIR/<process>-<pid>.log", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-log-"));
    const log = createLogger("worker", { settings: { LOG_LEVEL: "info", LOG_CONSOLE_LEVEL: "silent", LOG_FORMAT: "json", LOG_DIR: dir } });
    log.info({ windowId: "w1" }, "window settled");
    const file = path.join(dir, `worker-${process.pid}.log`);
    expect(JSON.parse(fs.readFileSync(file, "utf8").trim().split("\n").at(-1)!)).toMatchObject({ process: "worker", windowId: "w1" });
    fs.rmSync(dir, { recursive: true });
  });
});

describe("JSON lines on stdout", () => {
  /** A process that logs `script`'s lines, then idles; the moments (ms after its first line) each line reached us. */
  async function arrivals(script: string, readAfterMs = 0): Promise<{ msg: string; at: number }[]> {
    const { spawn } = await import("node:child_process");
    const code = `import { createLogger } from ${JSON.stringify(path.resolve(import.meta.dirname, "logger.ts"))};
const log = createLogger("proxy", { settings: { LOG_LEVEL: "info", LOG_FORMAT: "json", LOG_DIR: undefined } });
const t0 = Date.now();
${script}
setTimeout(() => {}, 1500);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    const out: { msg: string; at: number }[] = [];
    const { createInterface } = await import("node:readline");
    if (readAfterMs > 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), readAfterMs);
    }
    createInterface({ input: child.stdout }).on("line", (l) => {
      const line = JSON.parse(l) as { msg: string; t0: number };
      out.push({ msg: line.msg, at: Date.now() - line.t0 });
    });
    await new Promise((r) => child.once("exit", r));
    return out;
  }

  it("batches info lines (written within the flush period) and writes a warning at once, with what waited before it", async () => {
    const lines = await arrivals(`log.info({ t0 }, "first");
setTimeout(() => log.info({ t0 }, "second"), 100);
setTimeout(() => log.warn({ t0 }, "trouble"), 520);`);
    expect(lines.map((l) => l.msg)).toEqual(["first", "second", "trouble"]);
    // The first line waited for the second (logged 100 ms later): both went out in one write, by the flush timer (every 250 ms).
    expect(lines[0]!.at).toBeGreaterThanOrEqual(100);
    expect(Math.abs(lines[0]!.at - lines[1]!.at)).toBeLessThan(50);
    // The warning, logged at 520 ms, did not wait for the timer's next turn (about 750 ms).
    expect(lines[2]!.at).toBeLessThan(520 + 120);
  });

  it("flushes what waits when the process exits", async () => {
    const lines = await arrivals(`log.info({ t0 }, "last words"); process.exit(0);`);
    expect(lines.map((l) => l.msg)).toEqual(["last words"]);
  });

  it("loses nothing and keeps the order when the reader falls behind (a full pipe)", async () => {
    // About 3 MB: far more than a pipe holds, written while nobody reads for 400 ms.
    const lines = await arrivals(`for (let i = 0; i < 20000; i++) log.info({ t0, i, pad: "x".repeat(100) }, "line " + i); process.exit(0);`, 400);
    expect(lines).toHaveLength(20_000);
    expect(lines.every((l, i) => l.msg === `line ${i}`)).toBe(true);
  });
});
