/**
 * A measured median is shown, sorted by and routed on only past a minimum sample: one fast
 * 7 ms call must not crown a 70B model the fastest (OpenRouter shows its figures the same way,
 * with the sample size beside them). Pure, shared by the SQL that sorts and the code that shows.
 */

/** Fewest measurements (successful requests that produced the metric) a median needs. */
export const MIN_MEASURED_SAMPLE = 10;

/** The median when `sample` measurements reach the minimum, else null (not enough data to state it). */
export function measuredFigure(median: number | null, sample: number): number | null {
  return median !== null && sample >= MIN_MEASURED_SAMPLE ? median : null;
}
