"use client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { ErrorText } from "@/app/_components/ui";
import { formError } from "@/app/_lib/form-errors";
import type { AppRouter } from "@/server/api/root";
import { DEFAULT_TOKENIZER, TOKENIZER_LABELS, TOKENIZERS } from "@/server/tokens/rules";

type Inputs = inferRouterInputs<AppRouter>["catalog"];
type Existing = inferRouterOutputs<AppRouter>["catalog"]["get"];
type Fields = Omit<Inputs["update"], "id" | "clearCredential">;
type Modality = Fields["modalities"][number];

const modalityOptions: Modality[] = ["chat", "completion", "embeddings"];

/** The form's labels for the API's field names, so errors read as the form does. */
export const listingLabels: Record<string, string> = {
  name: "Public name",
  modelSlug: "Model slug",
  family: "Model family",
  contextLength: "Context length",
  description: "Description",
  modalities: "Modalities",
  upstreamBaseUrl: "Base URL",
  upstreamModel: "Upstream model id",
  upstreamCredential: "Upstream API key",
  tokenizer: "Tokenizer",
  "prices.unit": "Unit",
  "prices.input": "Input price",
  "prices.output": "Output price",
  "prices.cachedInput": "Cached input price",
  tokensPerWatt: "Tokens per watt",
  energyHardware: "Hardware",
  energyMeasuredOn: "Measured on",
  energyMethod: "Measurement method",
  gridCarbonGPerKwh: "Grid carbon",
  region: "Region",
};

function text(f: FormData, k: string): string {
  return String(f.get(k) ?? "").trim();
}
function optionalNumber(f: FormData, k: string): number | null {
  const v = text(f, k);
  return v === "" ? null : Number(v);
}

/** Reads the shared listing fields from the form. */
function readFields(f: FormData): Fields {
  return {
    name: text(f, "name"),
    description: text(f, "description"),
    family: text(f, "family"),
    contextLength: Number(text(f, "contextLength")),
    modalities: f.getAll("modalities").map(String) as Modality[],
    upstreamBaseUrl: text(f, "upstreamBaseUrl"),
    upstreamModel: text(f, "upstreamModel"),
    upstreamCredential: text(f, "upstreamCredential") || undefined,
    tokenizer: text(f, "tokenizer") as Fields["tokenizer"],
    tokensPerWatt: optionalNumber(f, "tokensPerWatt"),
    energyHardware: text(f, "energyHardware") || null,
    energyMethod: text(f, "energyMethod") || null,
    energyMeasuredOn: text(f, "energyMeasuredOn") || null,
    gridCarbonGPerKwh: optionalNumber(f, "gridCarbonGPerKwh"),
    region: text(f, "region") || null,
  };
}

export type ListingFormSubmit = { kind: "create"; input: Inputs["create"] } | { kind: "update"; input: Inputs["update"] };

function Field({ label, name, children, hint }: { label: string; name: string; children?: React.ReactNode; hint?: string }) {
  return (
    <div>
      <label className="label" htmlFor={name}>
        {label}
      </label>
      {children}
      {hint && <p className="mt-1 text-xs text-slate-500">{hint}</p>}
    </div>
  );
}

/**
 * Create or edit a listing. Prices are part of creation only; afterwards they change
 * through effective-dated versions on the listing's page.
 */
export function ListingForm({
  existing,
  orgSlug,
  pending,
  error,
  onSubmit,
  submitLabel,
}: {
  existing?: Existing;
  orgSlug: string;
  pending: boolean;
  error?: string | null;
  onSubmit: (s: ListingFormSubmit) => void;
  submitLabel: string;
}) {
  const [clearCredential, setClearCredential] = useState(false);
  const [modelSlug, setModelSlug] = useState(existing?.modelSlug ?? "");
  return (
    <form
      className="space-y-6"
      data-testid="listing-form"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const fields = readFields(f);
        if (existing) {
          onSubmit({ kind: "update", input: { ...fields, id: existing.id, clearCredential } });
        } else {
          onSubmit({
            kind: "create",
            input: {
              ...fields,
              modelSlug: text(f, "modelSlug"),
              prices: {
                unit: text(f, "priceUnit") === "1k" ? "1k" : "1M",
                input: text(f, "priceInput"),
                output: text(f, "priceOutput"),
                cachedInput: text(f, "priceCachedInput") || "0",
              },
            },
          });
        }
      }}
    >
      <section className="card space-y-4">
        <h2 className="font-semibold">Model</h2>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="Public name" name="name">
            <input
              className="input"
              id="name"
              name="name"
              required
              minLength={2}
              maxLength={80}
              defaultValue={existing?.name}
              placeholder="Llama 3.1 8B Instruct"
            />
          </Field>
          <Field
            label="Model slug"
            name="modelSlug"
            hint={`Clients call it as ${orgSlug}/${modelSlug || "model-slug"}${existing ? " (fixed once created)" : ""}`}
          >
            <input
              className="input font-mono"
              id="modelSlug"
              name="modelSlug"
              required
              disabled={Boolean(existing)}
              value={modelSlug}
              onChange={(e) => setModelSlug(e.target.value)}
              placeholder="llama-3.1-8b"
            />
          </Field>
          <Field label="Model family" name="family" hint="Providers of the same model share a family, e.g. llama-3.1-8b.">
            <input className="input font-mono" id="family" name="family" required defaultValue={existing?.family} placeholder="llama-3.1-8b" />
          </Field>
          <Field label="Context length (tokens)" name="contextLength">
            <input className="input" id="contextLength" name="contextLength" type="number" min={1} required defaultValue={existing?.contextLength ?? 131072} />
          </Field>
        </div>
        <Field label="Description" name="description">
          <textarea className="input" id="description" name="description" rows={2} maxLength={2000} defaultValue={existing?.description} />
        </Field>
        <fieldset>
          <legend className="label">Modalities</legend>
          <div className="flex gap-4 text-sm">
            {modalityOptions.map((m) => (
              <label key={m} className="flex items-center gap-1.5">
                <input type="checkbox" name="modalities" value={m} defaultChecked={existing ? existing.modalities.includes(m) : m === "chat"} /> {m}
              </label>
            ))}
          </div>
        </fieldset>
      </section>

      <section className="card space-y-4">
        <h2 className="font-semibold">Upstream</h2>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label="Base URL (OpenAI-compatible)" name="upstreamBaseUrl">
            <input
              className="input font-mono"
              id="upstreamBaseUrl"
              name="upstreamBaseUrl"
              type="url"
              required
              defaultValue={existing?.upstreamBaseUrl}
              placeholder="https://api.example.com/v1"
            />
          </Field>
          <Field label="Upstream model id" name="upstreamModel">
            <input
              className="input font-mono"
              id="upstreamModel"
              name="upstreamModel"
              required
              defaultValue={existing?.upstreamModel}
              placeholder="meta-llama/Llama-3.1-8B-Instruct"
            />
          </Field>
          <Field
            label="Tokenizer"
            name="tokenizer"
            hint={`What the proxy counts prompts with (credit holds, token limits) and answers that come without usage. Not listed? Choose the closest; ${DEFAULT_TOKENIZER} is the default.`}
          >
            <select className="input" id="tokenizer" name="tokenizer" defaultValue={existing?.tokenizer ?? DEFAULT_TOKENIZER}>
              {TOKENIZERS.map((t) => (
                <option key={t} value={t}>
                  {TOKENIZER_LABELS[t]}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field
          label="Upstream API key"
          name="upstreamCredential"
          hint={
            existing?.credentialMask
              ? `Saved: ${existing.credentialMask}. Leave empty to keep it.`
              : "Encrypted at rest; after saving only its last 4 characters are shown."
          }
        >
          <input className="input font-mono" id="upstreamCredential" name="upstreamCredential" type="password" autoComplete="off" disabled={clearCredential} />
        </Field>
        {existing?.credentialMask && (
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={clearCredential} onChange={(e) => setClearCredential(e.target.checked)} /> Remove the saved key
          </label>
        )}
      </section>

      {!existing && (
        <section className="card space-y-4">
          <h2 className="font-semibold">Prices</h2>
          <div className="grid gap-4 sm:grid-cols-4">
            <Field label="Unit" name="priceUnit">
              <select className="input" id="priceUnit" name="priceUnit" defaultValue="1M">
                <option value="1M">$ per 1M tokens</option>
                <option value="1k">$ per 1k tokens</option>
              </select>
            </Field>
            <Field label="Input" name="priceInput">
              <input className="input" id="priceInput" name="priceInput" inputMode="decimal" required placeholder="0.14" />
            </Field>
            <Field label="Output" name="priceOutput">
              <input className="input" id="priceOutput" name="priceOutput" inputMode="decimal" required placeholder="0.28" />
            </Field>
            <Field label="Cached input" name="priceCachedInput">
              <input className="input" id="priceCachedInput" name="priceCachedInput" inputMode="decimal" placeholder="0.07" />
            </Field>
          </div>
          <p className="text-xs text-slate-500">Stored exactly as nano-dollars per 1k tokens: at most 6 decimals per 1M, 9 per 1k.</p>
        </section>
      )}

      <section className="card space-y-4">
        <h2 className="font-semibold">Energy</h2>
        <div className="grid gap-4 sm:grid-cols-3">
          <Field label="Tokens per watt" name="tokensPerWatt" hint="Tokens per second per watt (= tokens per joule).">
            <input className="input" id="tokensPerWatt" name="tokensPerWatt" type="number" step="any" min="0" defaultValue={existing?.tokensPerWatt ?? ""} />
          </Field>
          <Field label="Hardware" name="energyHardware">
            <input className="input" id="energyHardware" name="energyHardware" defaultValue={existing?.energyHardware ?? ""} placeholder="8× H100 SXM" />
          </Field>
          <Field label="Measured on" name="energyMeasuredOn">
            <input className="input" id="energyMeasuredOn" name="energyMeasuredOn" type="date" defaultValue={existing?.energyMeasuredOn ?? ""} />
          </Field>
          <Field label="Grid carbon (gCO₂/kWh)" name="gridCarbonGPerKwh">
            <input
              className="input"
              id="gridCarbonGPerKwh"
              name="gridCarbonGPerKwh"
              type="number"
              step="any"
              min="0"
              defaultValue={existing?.gridCarbonGPerKwh ?? ""}
            />
          </Field>
          <Field label="Region" name="region">
            <input className="input" id="region" name="region" defaultValue={existing?.region ?? ""} placeholder="eu-west" />
          </Field>
        </div>
        <Field label="Measurement method" name="energyMethod">
          <textarea
            className="input"
            id="energyMethod"
            name="energyMethod"
            rows={2}
            defaultValue={existing?.energyMethod ?? ""}
            placeholder="Wall power of the node (IPMI) over a 30-minute load test"
          />
        </Field>
      </section>

      <ErrorText testId="listing-form-error">{formError(error ? { message: error } : null, listingLabels)}</ErrorText>
      <button className="btn-primary" type="submit" disabled={pending} data-testid="listing-save">
        {pending ? "Saving…" : submitLabel}
      </button>
    </form>
  );
}
