import type http from "node:http";
import type { Dispatcher } from "undici";
import type { UsageEvent } from "../usage/contract";
import type { ActiveKey, RoutingListing } from "./backend";
import type { AnswerContext, Dialect } from "./dialects/types";
import type { UsageBounds } from "./estimate";
import type { Hold } from "./reservations";
import type { Endpoint } from "./routing";
import type { UpstreamUsage } from "./sse";
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
  key: ActiveKey;
  started: number;
  promptTokens: number;
  stream: boolean;
  wantsUsage: boolean;
  hold: Hold;
  headers: Record<string, string>;
  /** What the request could produce: billing never goes past it (estimate.ts billableUsage). */
  bounds: UsageBounds;
  /** The client's dialect when it did not speak chat, and the chat request it became. */
  dialect?: { dialect: Dialect; chat: Record<string, unknown> };
};

/** What a dialect builds its answer from. */
export function answerContext(r: Request, model: string, d: { chat: Record<string, unknown> }): AnswerContext {
  return { requestId: r.requestId, model, promptTokens: r.promptTokens, chat: d.chat };
}

export type Bill = { costNano: bigint; estimated: boolean; promptTokens: number; outputTokens: number; cachedTokens: number };

export type Outcome = {
  status: UsageEvent["status"];
  usage: UpstreamUsage | null;
  countedOutput: number;
  firstTokenAt: number | null;
  upstreamStatus: number | null;
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
  count: (endpoint: Endpoint, status: number, started: number, stream: boolean) => void;
};
