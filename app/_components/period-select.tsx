"use client";

/** The periods dashboards offer, in days. */
export const lastDays = [
  [1, "Today"],
  [7, "Last 7 days"],
  [30, "Last 30 days"],
  [90, "Last 90 days"],
] as const satisfies readonly (readonly [number, string])[];

/** A dashboard's period choice: `value` is one of the options' numbers (days, or an index into the caller's ranges). */
export function PeriodSelect({
  label,
  value,
  onChange,
  options = lastDays,
  className = "input w-auto text-sm",
}: {
  label: string;
  value: number;
  onChange: (value: number) => void;
  options?: readonly (readonly [number, string])[];
  className?: string;
}) {
  return (
    <select aria-label={label} className={className} value={value} onChange={(e) => onChange(Number(e.target.value))}>
      {options.map(([v, text]) => (
        <option key={v} value={v}>
          {text}
        </option>
      ))}
    </select>
  );
}
