import type { UsageEvent } from "../usage/contract";
import type { RoutingListing } from "./backend";
import { billableUsage } from "./estimate";
import { checkEnergy, finishReasonOf } from "./finish-energy";
import type { Bill, Outcome, Request } from "./relay";
import { priceAt } from "./routing";
import { promptTokensFor } from "./tokens";
import type { GatewayState } from "./state";

/**
 * Bills a finished request: tokens from the upstream's usage when it sent
 * one, else counted (estimated), never past what the request could produce;
 * journals the usage event (`then` runs once it is journalled, before the
 * response ends), returns the unused hold, and counts the key's spend and tokens.
 */
export function billRequest(s: GatewayState, r: Request, listing: RoutingListing, o: Outcome, then?: (bill: Bill) => void): Bill {
  const ended = Date.now();
  const estimated = o.usage === null;
  const reported = o.usage ?? { promptTokens: promptTokensFor(r.promptCount, listing.tokenizer), completionTokens: o.countedOutput, cachedTokens: 0 };
  const checked = billableUsage(reported, r.bounds, priceAt(listing, r.started), r.hold.amountNano);
  const { promptTokens, completionTokens: outputTokens, cachedTokens } = checked.billed;
  const costNano = checked.costNano;
  if (checked.anomaly) {
    s.metrics.usageAnomalies.inc({ listing: listing.slug });
    s.log("usage anomaly", {
      requestId: r.requestId,
      listing: listing.slug,
      anomaly: checked.anomaly,
      billed: [promptTokens, outputTokens, cachedTokens],
      reported: [reported.promptTokens, reported.completionTokens, reported.cachedTokens],
    });
  }
  const bill: Bill = { costNano, estimated, promptTokens, outputTokens, cachedTokens };
  // Energy is checked against the billed tokens, after the cost is fixed: it describes the request, never prices it.
  let energyJoules: number | null = null;
  if (o.energy) {
    const e = checkEnergy(o.energy, promptTokens + outputTokens);
    if ("joules" in e) energyJoules = e.joules;
    else s.log(`energy from ${listing.slug} ignored on request ${r.requestId}: ${e.problem}`);
  }
  const event: UsageEvent = {
    id: r.requestId,
    reservationId: r.hold.reservationId,
    keyId: r.key.keyId,
    listingId: listing.listingId,
    inputTokens: promptTokens - cachedTokens,
    outputTokens,
    cachedInputTokens: cachedTokens,
    startedAt: new Date(r.started),
    firstTokenAt: o.firstTokenAt === null ? null : new Date(o.firstTokenAt),
    endedAt: new Date(ended),
    status: o.status,
    estimated,
    upstreamStatus: o.upstreamStatus,
    finishReason: finishReasonOf(o.status, o.finishReason, o.sawEnd),
    energyJoules,
    ...(checked.anomaly && {
      anomaly: {
        reason: checked.anomaly.slice(0, 300),
        reportedInputTokens: reported.promptTokens - reported.cachedTokens,
        reportedOutputTokens: reported.completionTokens,
        reportedCachedInputTokens: reported.cachedTokens,
      },
    }),
  };
  s.reporter.record(event, then && (() => then(bill)));
  // The request's one line: its id is the usage event's, which the backend's ingest and settlement lines carry on.
  s.logger.info(
    {
      requestId: r.requestId,
      endpoint: r.endpoint,
      listing: listing.slug,
      keyId: r.key.keyId,
      status: o.status,
      upstreamStatus: o.upstreamStatus,
      inputTokens: event.inputTokens,
      outputTokens,
      cachedTokens,
      costNano: String(costNano),
      estimated,
      ms: ended - r.started,
    },
    "request billed",
  );
  s.credit.settle(r.hold, costNano);
  s.keys.addSpend(r.key.keyId, costNano);
  s.rates.adjustTokens(r.key.keyId, promptTokens + outputTokens - r.promptTokens, ended);
  const m = s.metrics.tokenCounts[estimated ? "true" : "false"];
  m.input.inc(promptTokens - cachedTokens);
  if (cachedTokens) m.cached_input.inc(cachedTokens);
  if (outputTokens) m.output.inc(outputTokens);
  if (o.firstTokenAt !== null && outputTokens > 1 && ended > o.firstTokenAt) {
    s.catalog.observeThroughput(listing.listingId, (outputTokens - 1) / ((ended - o.firstTokenAt) / 1000));
  }
  return bill;
}
