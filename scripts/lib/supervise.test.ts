import { describe, expect, it } from "vitest";
import { RESTART_LIMIT, restartDelay } from "./supervise";

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
