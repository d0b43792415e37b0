import type { Db } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { DomainError, errorTable } from "../errors";
import { reportInternalError } from "../internal-errors";
import { ingestAnswerJson } from "./ingest-wire";
import { reportOptions, reportUsage } from "./settlement";

/**
 * The lean ingest path (`POST <backend tRPC URL>/usage.ingest`): what proxies send their
 * usage to. Same answers as the tRPC procedure `usage.report` (the same intake, stage 1 and
 * per-event results), without tRPC, superjson and a second validation pass: one JSON.parse
 * of the body, the contract's zod rules once per event (timestamps as ISO strings), and a
 * plain JSON answer whose costs are decimal strings of nano-USD.
 *
 * Request:  {"events": [ {…usage event…}, … ]}  (1–5 000 events), `Authorization: Bearer <service token>`.
 * Answer:   200 {"results": [{"id", "status", "costNano": "123" | null, "reason"}]} in the events' order;
 *           400 body not understood; 401 no or unknown token; 503 settlement is behind (send again later).
 */

export const MAX_INGEST_EVENTS = 5000;

export type IngestAnswer = { status: number; body: string };

const json = (status: number, value: unknown): IngestAnswer => ({ status, body: JSON.stringify(value) });
const fail = (status: number, message: string) => json(status, { error: message });

export async function handleIngest(
  db: Db,
  request: { body: string; authorization: string | null | undefined },
  matchServiceToken: (token: string | null) => ServiceIdentity | null,
  settle: "inline" | "windowed",
): Promise<IngestAnswer> {
  const token = request.authorization?.startsWith("Bearer ") ? request.authorization.slice(7) : null;
  const service = matchServiceToken(token);
  if (!service) return fail(401, "a service token is required (Authorization: Bearer …)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    return fail(400, "body: is not JSON");
  }
  const events = typeof parsed === "object" && parsed !== null ? (parsed as { events?: unknown }).events : undefined;
  if (!Array.isArray(events) || events.length === 0) return fail(400, "events: must be a non-empty array");
  if (events.length > MAX_INGEST_EVENTS) return fail(400, `events: at most ${MAX_INGEST_EVENTS} events per batch`);
  try {
    const results = await reportUsage(db, { events: events, ...reportOptions(service, settle), wire: true });
    return { status: 200, body: ingestAnswerJson(results) };
  } catch (err) {
    if (err instanceof DomainError) return fail(errorTable[err.code].http, err.message);
    return fail(500, reportInternalError(err, "usage.ingest").message);
  }
}
