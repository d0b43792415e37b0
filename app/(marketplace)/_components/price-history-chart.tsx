"use client";
import { moneyAxis } from "@/app/_lib/format";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export type ChartPoint = { t: number; input: number; output: number; cachedInput: number };

const day = (t: number) => new Date(t).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "2-digit", timeZone: "UTC" });

// Dollar figures here only draw a chart; every price shown as text comes from exact nano-USD.
type DotProps = { cx?: number; cy?: number; index?: number };
/** A render function for recharts' `dot` (called per point, not a component of its own). */
function dot(testId: string, color: string) {
  return ({ cx, cy, index }: DotProps) => {
    if (cx === undefined || cy === undefined) return null;
    return <circle key={`${testId}-${index}`} cx={cx} cy={cy} r={4} fill={color} stroke="white" strokeWidth={1.5} data-testid={testId} />;
  };
}

/** One point per price version (dollars per 1M tokens), a step line between them. */
export function PriceHistoryChart({ points }: { points: ChartPoint[] }) {
  return (
    <div className="h-64 w-full" data-testid="price-history-chart">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={points} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={day} padding={{ left: 24, right: 24 }} fontSize={12} />
          <YAxis tickFormatter={moneyAxis(Math.max(0, ...points.flatMap((p) => [p.input, p.output, p.cachedInput])))} fontSize={12} width={72} />
          <Tooltip labelFormatter={(t) => day(Number(t))} formatter={(v) => `$${Number(v)} / 1M`} />
          <Legend />
          <Line type="stepAfter" dataKey="input" name="Input" stroke="#4f46e5" dot={dot("price-point", "#4f46e5")} isAnimationActive={false} />
          <Line type="stepAfter" dataKey="output" name="Output" stroke="#059669" dot={dot("price-point-output", "#059669")} isAnimationActive={false} />
          <Line
            type="stepAfter"
            dataKey="cachedInput"
            name="Cached input"
            stroke="#94a3b8"
            dot={dot("price-point-cached", "#94a3b8")}
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
