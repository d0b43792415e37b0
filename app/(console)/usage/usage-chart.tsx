"use client";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { utcText } from "@/app/_components/time";
import { moneyAxis } from "@/app/_lib/format";

export const chartColors = ["#4f46e5", "#059669", "#d97706", "#db2777", "#0891b2", "#7c3aed", "#65a30d", "#dc2626", "#475569", "#0d9488"];

export type StackedPoint = { t: number } & Record<string, number>;

/**
 * Stacked bars per time bucket, one series per group (listing or key). Values are plain
 * numbers for drawing only; every amount shown as text elsewhere comes from exact nano-USD.
 */
export function StackedChart({
  data,
  groups,
  granularity,
  unit,
  testId,
}: {
  data: StackedPoint[];
  groups: { id: string; name: string }[];
  granularity: "hour" | "day";
  unit: "usd" | "tokens";
  testId: string;
}) {
  const label = new Intl.DateTimeFormat(
    "en-GB",
    granularity === "day" ? { month: "short", day: "numeric" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  );
  const tallest = Math.max(0, ...data.map((p) => groups.reduce((s, g) => s + (p[g.id] ?? 0), 0)));
  const value = unit === "usd" ? moneyAxis(tallest) : (v: number) => new Intl.NumberFormat("en-US", { notation: "compact" }).format(v);
  return (
    <div className="h-72 w-full" data-testid={testId}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
          <XAxis dataKey="t" tickFormatter={(t: number) => label.format(new Date(t))} fontSize={12} />
          <YAxis tickFormatter={value} fontSize={12} width={72} />
          <Tooltip
            labelFormatter={(t) => `${label.format(new Date(Number(t)))} (${utcText(new Date(Number(t)))})`}
            formatter={(v, name) => [unit === "usd" ? `$${Number(v).toPrecision(6)}` : Number(v).toLocaleString(), name]}
          />
          <Legend />
          {groups.map((g, i) => (
            <Bar key={g.id} dataKey={g.id} name={g.name} stackId="a" fill={chartColors[i % chartColors.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Pivots rows of (bucket, group, value) into one object per bucket with a key per group. */
export function pivot<T extends { bucket: Date; groupId: string }>(points: readonly T[], value: (p: T) => number): StackedPoint[] {
  const byT = new Map<number, StackedPoint>();
  for (const p of points) {
    const t = p.bucket.getTime();
    const row = byT.get(t) ?? ({ t } as StackedPoint);
    row[p.groupId] = (row[p.groupId] ?? 0) + value(p);
    byT.set(t, row);
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}
