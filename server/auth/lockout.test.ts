import { describe, expect, it } from "vitest";
import { durationWords, lockoutMessage } from "./lockout";

describe("the sign-in lockout says the real window", () => {
  it.each([
    ["the default 15-minute window", 900, "15 minutes"],
    ["one minute", 60, "1 minute"],
    ["under a minute", 45, "45 seconds"],
    ["a part minute rounds up (never promises less than the wait)", 61, "2 minutes"],
    ["one hour", 3600, "1 hour"],
    ["hours and minutes", 5400, "1 hour 30 minutes"],
    ["a day", 86_400, "24 hours"],
  ])("%s", (_label, seconds, words) => {
    expect(durationWords(seconds)).toBe(words);
  });

  it("names the window, not 'a few minutes'", () => {
    expect(lockoutMessage(900)).toBe("Too many failed attempts. Sign-in is paused for up to 15 minutes; try again after that.");
  });
});
