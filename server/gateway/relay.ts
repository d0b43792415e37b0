import type http from "node:http";
import type { Dispatcher } from "undici";
import type { UsageEvent } from "../usage/contract";
import type { ActiveKey, RoutingListing } from "./backend";
import type { DialectRequest } from "./dialects/types";
import type { UsageBounds } from "./estimate";
import type { Hold } from "./reservations";
import type { Endpoint } from "./routing";
import type { EnergyClaim } from "./finish-energy";
import type { UpstreamUsage } from "./sse";
import type { PromptCount } from "./tokens";
import type { GatewayState } from "./state";

/**
 * Relays an upstream's answer to the buyer: the JSON body with `usage.cost`
 * added (relay-json.ts), or the SSE stream event by event (relay-stream.ts).
 * An upstream is hostile input: its answer is capped in size (the JSON body,
 * one SSE event) and in time (the proxy's request cap cuts it with a Breach);
 * a breach ends the response with a 502 envelope or an SSE error event and
 * bills only what was delivered (billing.ts).
 */

export type Request = {
  requestId: string;
  endpoint: Endpoint;
  /** Its label in the request metrics: the endpoint, or the client dialect's. */
  label: string;
  key: ActiveKey;
  started: number;
  /** The prompt's tokens for the hold and rate limits: the largest count among the candidates' tokenizers. */
  promptTokens: number;
  promptCount: PromptCount;
  stream: boolean;
  wantsUsage: boolean;
  hold: Hold;
  headers: Record<string, string>;
  /** What the request could produce: billing never goes past it (estimate.ts billableUsage). */
  bounds: UsageBounds;
  /** Set when the client speaks another API than the endpoint's (dialects/): its answer is translated back. */
  dialect: DialectRequest | null;
};

export type { Bill } from "./bill";

export type Outcome = {
  status: UsageEvent["status"];
  usage: UpstreamUsage | null;
  countedOutput: number;
  firstTokenAt: number | null;
  upstreamStatus: number | null;
  /** The upstream's own finish reason, as sent (finish-energy.ts normalises it). */
  finishReason: string | null;
  /** A stream's `[DONE]` came (always true for a JSON answer): without it and a finish reason, a stream was cut off. */
  sawEnd: boolean;
  energy: EnergyClaim | null;
};

/** An upstream answer past a size or time cap; the message is for the buyer. */
export class Breach extends Error {}

export type Relay = {
  s: GatewayState;
  r: Request;
  listing: RoutingListing;
  upstream: Dispatcher.ResponseData;
  res: http.ServerResponse;
  clientGone: () => boolean;
  count: (label: string, status: number, started: number, stream: boolean) => void;
};
