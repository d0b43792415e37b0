import type { z } from "zod";
import type { eventResult } from "./contract";

/**
 * The lean ingest path's answer as text (server/usage/ingest-http.ts writes it, the proxy
 * reads it): `{"results":[{"id","status","costNano":"123"|null,"reason"}]}`, costs as decimal
 * strings of nano-USD so they stay exact. No I/O here: the proxy imports it.
 */

type EventResult = z.infer<typeof eventResult>;

/** The answer, built as text: thousands of results per batch. */
export function ingestAnswerJson(results: readonly EventResult[]): string {
  let out = '{"results":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    out += `${i ? "," : ""}{"id":${JSON.stringify(r.id)},"status":"${r.status}","costNano":${r.costNano === null ? "null" : `"${r.costNano}"`},"reason":${r.reason === null ? "null" : JSON.stringify(r.reason)}}`;
  }
  return `${out}]}`;
}

/** The answer's results with costs back as bigint. */
export function parseIngestAnswer(text: string): EventResult[] {
  const { results } = JSON.parse(text) as { results: { id: string; status: EventResult["status"]; costNano: string | null; reason: string | null }[] };
  return results.map((r) => ({ id: r.id, status: r.status, costNano: r.costNano === null ? null : BigInt(r.costNano), reason: r.reason }));
}
