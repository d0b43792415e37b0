import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { RESTART_LIMIT, restartDelay, Supervised } from "./supervise";

describe("restartDelay", () => {
  const now = 1_000_000;
  it.each([
    ["the first exit: restart soon", [], 250],
    ["the second within a minute: twice the pause", [now - 1_000], 500],
    ["the fourth within a minute: still restarted", [now - 3_000, now - 2_000, now - 1_000], 2_000],
    ["the fifth within a minute: given up", [now - 4_000, now - 3_000, now - 2_000, now - 1_000], null],
    ["exits older than a minute do not count", [now - 70_000, now - 65_000, now - 61_000, now - 60_000], 250],
  ])("%s", (_label, exits, expected) => {
    expect(restartDelay(exits, now)).toBe(expected);
  });

  it("the pause never exceeds the cap", () => {
    expect(restartDelay([1, 2, 3], 10, { ...RESTART_LIMIT, maxExits: 100, firstDelayMs: 5_000 })).toBe(RESTART_LIMIT.maxDelayMs);
  });
});

describe("Supervised", () => {
  it("restarts a service that exits, then gives up naming it and its last error", async () => {
    let starts = 0;
    const lines: string[] = [];
    const why = await new Promise<string>((resolve) => {
      new Supervised(
        "flaky",
        () => {
          starts++;
          return spawn(process.execPath, ["-e", "console.error('cannot bind port 1'); process.exit(3)"], { stdio: ["ignore", "pipe", "pipe"] });
        },
        resolve,
        (line) => lines.push(line),
      );
    });
    expect(starts).toBe(RESTART_LIMIT.maxExits);
    expect(lines.filter((l) => l.startsWith("flaky exited (code 3); restarting in"))).toHaveLength(RESTART_LIMIT.maxExits - 1);
    expect(why).toContain("flaky exited 5 times within a minute");
    expect(why).toContain("cannot bind port 1");
  }, 20_000);

  it("a stopped service is not restarted", async () => {
    let starts = 0;
    const s = new Supervised(
      "steady",
      () => (starts++, spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: ["ignore", "pipe", "pipe"] })),
      () => {},
      () => {},
    );
    await s.stop(2_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(starts).toBe(1);
    expect(s.child.exitCode !== null || s.child.signalCode !== null).toBe(true);
  });
});
