import { formatFigure } from "@/app/_lib/format";
import { MIN_MEASURED_SAMPLE } from "@/server/catalog/sample";

/**
 * A measured median with its sample size beside it ("95.2 · n=40"), or why it is not shown
 * ("3 of 10 requests") below the minimum sample the figures are sorted and routed by.
 */
export function MeasuredValue({ value, sample, unit, testId }: { value: number | null; sample: number; unit?: string; testId: string }) {
  if (value === null) {
    return (
      <span data-testid={testId} title={`Shown once ${MIN_MEASURED_SAMPLE} successful requests in the last 24 h measured it`}>
        —
        {sample > 0 && (
          <span className="block text-xs text-slate-500">
            {sample} of {MIN_MEASURED_SAMPLE} requests
          </span>
        )}
      </span>
    );
  }
  return (
    <span>
      <span data-testid={testId}>
        {formatFigure(value)}
        {unit ? ` ${unit}` : ""}
      </span>
      <span className="block text-xs text-slate-500" data-testid={`${testId}-sample`}>
        n = {sample.toLocaleString("en-US")}
      </span>
    </span>
  );
}

/** The rule in words, for the pages that show measured figures. */
export const measuredRule = `Medians are shown, sorted by and used for the proxy's "fastest" routing only once at least ${MIN_MEASURED_SAMPLE} successful requests measured them; n is the number of requests behind each.`;
