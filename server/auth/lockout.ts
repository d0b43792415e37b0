/** A whole number of seconds in words people read: 900 → "15 minutes", 5400 → "1 hour 30 minutes". */
export function durationWords(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds < 60) return plural(seconds, "second");
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.ceil((seconds % 3600) / 60);
  if (hours === 0) return plural(minutes, "minute");
  return minutes === 0 ? plural(hours, "hour") : `${plural(hours, "hour")} ${plural(minutes, "minute")}`;
}

/**
 * What a locked-out user reads, from the configured window (SIGNIN_WINDOW_SECONDS): failures
 * count for that long, so that is the longest the wait can be.
 */
export function lockoutMessage(windowSeconds: number): string {
  return `Too many failed attempts. Sign-in is paused for up to ${durationWords(windowSeconds)}; try again after that.`;
}
