"use client";
import type { ReactNode } from "react";
import { usdDecimal } from "@/app/_lib/format";

export const periods = ["daily", "weekly", "monthly", "lifetime"] as const;
export type Period = (typeof periods)[number];
export const periodLabel: Record<Period, string> = { daily: "per day", weekly: "per week", monthly: "per month", lifetime: "lifetime" };

/** The limits a key carries, as the form shows them. */
export type LimitsDefaults = {
  name?: string;
  spendLimitNano?: bigint | null;
  limitPeriod?: Period | null;
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  modelAllowlist?: string[];
};

/** The forms' labels for the API's field names, so errors read as the form does. */
export const limitLabels: Record<string, string> = {
  name: "Name",
  spendLimitUsd: "Spend limit (USD)",
  limitPeriod: "Limit period",
  modelAllowlist: "Models allowed",
  rpmLimit: "Requests per minute",
  tpmLimit: "Tokens per minute",
  expiresAt: "Expires after",
  graceSeconds: "Grace period",
};

/** Form fields → tRPC input. Empty fields mean "no limit"; the server validates every value. */
export function readLimits(form: FormData) {
  const text = (name: string) => String(form.get(name) ?? "").trim();
  const whole = (name: string) => (text(name) === "" ? null : Number(text(name)));
  const spend = text("spendLimitUsd");
  return {
    name: text("name"),
    spendLimitUsd: spend === "" ? null : spend,
    limitPeriod: spend === "" ? null : (text("limitPeriod") as Period),
    rpmLimit: whole("rpmLimit"),
    tpmLimit: whole("tpmLimit"),
    modelAllowlist: text("modelAllowlist")
      .split(/[\s,]+/)
      .filter(Boolean),
  };
}

function Field({ label, hint, htmlFor, children }: { label: string; hint?: string; htmlFor: string; children: ReactNode }) {
  return (
    <div>
      <label className="label" htmlFor={htmlFor}>
        {label}
      </label>
      {children}
      {hint && <p className="mt-1 text-xs text-slate-500">{hint}</p>}
    </div>
  );
}

/** Name and limit fields shared by the create and edit forms (ids are prefixed so both can be on the page). */
export function LimitsFields({ idPrefix, defaults = {}, extra }: { idPrefix: string; defaults?: LimitsDefaults; extra?: ReactNode }) {
  const id = (n: string) => `${idPrefix}-${n}`;
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      <Field label="Name" htmlFor={id("name")}>
        <input className="input" id={id("name")} name="name" required maxLength={80} defaultValue={defaults.name} placeholder="e.g. production backend" />
      </Field>
      {extra}
      <Field label="Spend limit (USD)" hint="Leave empty for no limit. Periods reset at 00:00 UTC (weeks on Monday)." htmlFor={id("spend")}>
        <div className="flex gap-2">
          <input
            className="input"
            id={id("spend")}
            name="spendLimitUsd"
            inputMode="decimal"
            placeholder="no limit"
            defaultValue={defaults.spendLimitNano != null ? usdDecimal(defaults.spendLimitNano) : ""}
          />
          <select className="input w-36" name="limitPeriod" aria-label="Limit period" defaultValue={defaults.limitPeriod ?? "monthly"}>
            {periods.map((p) => (
              <option key={p} value={p}>
                {periodLabel[p]}
              </option>
            ))}
          </select>
        </div>
      </Field>
      <Field label="Models allowed" hint="Listing slugs (org/model) or model families, comma-separated. Empty: any model." htmlFor={id("models")}>
        <input className="input" id={id("models")} name="modelAllowlist" placeholder="any model" defaultValue={defaults.modelAllowlist?.join(", ")} />
      </Field>
      <Field label="Requests per minute" hint="Empty: no limit." htmlFor={id("rpm")}>
        <input className="input" id={id("rpm")} name="rpmLimit" type="number" min={1} step={1} placeholder="no limit" defaultValue={defaults.rpmLimit ?? ""} />
      </Field>
      <Field label="Tokens per minute" hint="Empty: no limit." htmlFor={id("tpm")}>
        <input className="input" id={id("tpm")} name="tpmLimit" type="number" min={1} step={1} placeholder="no limit" defaultValue={defaults.tpmLimit ?? ""} />
      </Field>
    </div>
  );
}
