import { hash } from "node:crypto";
import { nameUuid } from "../lib/ids";
import type { ZodError } from "zod";
import type { UsageEvent } from "./contract";

/**
 * Settlement's rules, with no I/O: what a sane event is, how a resend is told from a
 * different event under the same id, how much a reservation may grant, and how a
 * buyer's usage splits between credit and what they owe.
 */

/** The rejection of an event that ends past the server's clock (+ CLOCK_SKEW_MS): the proxy's clock runs ahead, so it is sent again later. */
export const CLOCK_AHEAD_REASON = "endedAt: is in the future";
/** How far past the server's clock an event may end (proxies' clocks drift a little). */
export const CLOCK_SKEW_MS = 60_000;
/** Events older than this are refused: the period they belong to is being closed by finance. */
export const MAX_EVENT_AGE_MS = 35 * 24 * 3600 * 1000;

/**
 * The most one event may bill, nano-USD ($1 000 000). A batch or a merged settlement holds at
 * most 5 000 events, so its sums (5·10^18) stay inside int8 however the events are priced.
 */
export const MAX_EVENT_COST_NANO = 1_000_000n * 1_000_000_000n;

/** "field: message" for the first issue of a zod error on one event. */
export function zodReason(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid event";
  return issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}

/**
 * Why an event's timings are not sane at `now`, naming the field, or null when they are:
 * startedAt ≤ firstTokenAt ≤ endedAt, ended no later than now + CLOCK_SKEW_MS,
 * started no earlier than now − MAX_EVENT_AGE_MS.
 */
export function timingProblem(e: Pick<UsageEvent, "startedAt" | "firstTokenAt" | "endedAt">, now: Date): string | null {
  const started = e.startedAt.getTime();
  const ended = e.endedAt.getTime();
  if (Number.isNaN(started)) return "startedAt: must be a valid date";
  if (Number.isNaN(ended)) return "endedAt: must be a valid date";
  if (e.firstTokenAt && Number.isNaN(e.firstTokenAt.getTime())) return "firstTokenAt: must be a valid date";
  if (started < now.getTime() - MAX_EVENT_AGE_MS) return "startedAt: is more than 35 days ago";
  if (ended > now.getTime() + CLOCK_SKEW_MS) return CLOCK_AHEAD_REASON;
  if (ended < started) return "endedAt: must not be before startedAt";
  if (e.firstTokenAt) {
    const first = e.firstTokenAt.getTime();
    if (first < started) return "firstTokenAt: must not be before startedAt";
    if (first > ended) return "firstTokenAt: must not be after endedAt";
  }
  return null;
}

/**
 * A digest (as a UUID) of every field that bills or describes an event, so the same id
 * reported again is recognised as a resend only when every field is the same. The finish
 * reason and the energy describe the event, so a resend that changes them is a conflict too
 * (the first report stands, as for any other field).
 */
export function eventFingerprint(e: UsageEvent): string {
  const parts: (string | number)[] = [
    e.id.toLowerCase(),
    e.reservationId?.toLowerCase() ?? "",
    e.keyId.toLowerCase(),
    e.listingId.toLowerCase(),
    e.inputTokens,
    e.outputTokens,
    e.cachedInputTokens,
    e.startedAt.getTime(),
    e.firstTokenAt?.getTime() ?? "",
    e.endedAt.getTime(),
    e.status,
    e.estimated ? 1 : 0,
    e.upstreamStatus ?? "",
  ];
  // Appended only when reported, so an event without them (every event before issue #21, and
  // old proxies' events) keeps the fingerprint it was settled with: its resends stay duplicates.
  if (e.finishReason != null || e.energyJoules != null) parts.push(e.finishReason ?? "", e.energyJoules ?? "");
  const canonical = parts.join("|");
  const h = hash("md5", canonical);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type LimitedBy = "credit" | "key_limit" | "blocked";

/**
 * What a reservation may grant (nano-USD): min(asked, available, key remaining), never
 * negative. `availableNano` is the organisation's credit + credit limit − holds − owed
 * (negative: blocked, grants nothing); `keyRemainingNano` is null for keys without a
 * spend limit. `limitedBy` names the binding bound when less than asked is granted.
 */
export function decideGrant(askedNano: bigint, availableNano: bigint, keyRemainingNano: bigint | null): { grantedNano: bigint; limitedBy: LimitedBy | null } {
  if (availableNano < 0n) return { grantedNano: 0n, limitedBy: "blocked" };
  let granted = askedNano;
  let limitedBy: LimitedBy | null = null;
  if (availableNano < granted) {
    granted = availableNano;
    limitedBy = "credit";
  }
  if (keyRemainingNano !== null && keyRemainingNano < granted) {
    granted = keyRemainingNano > 0n ? keyRemainingNano : 0n;
    limitedBy = "key_limit";
  }
  return { grantedNano: granted, limitedBy };
}

/**
 * How usage of `usedNano` consumes a reservation holding `heldNano`: the part the hold
 * covers, and what stays held (the hold is voided and this much re-held).
 */
export function consumeHold(heldNano: bigint, usedNano: bigint): { coveredNano: bigint; remainingNano: bigint } {
  const covered = usedNano < heldNano ? usedNano : heldNano;
  return { coveredNano: covered, remainingNano: heldNano - covered };
}

export type SettlementGroup = { id: string; costNano: bigint; feeNano: bigint };
export type SettlementLegs = {
  /** buyer_credits → provider_payable, buyer_credits → platform_revenue. */
  creditsToProviderNano: bigint;
  creditsToPlatformNano: bigint;
  /** buyer_receivable → provider_payable, buyer_receivable → platform_revenue: usage past the buyer's credit. */
  receivableToProviderNano: bigint;
  receivableToPlatformNano: bigint;
};

/**
 * Splits a buyer's settlement groups (one per provider, in the given order) between what
 * the buyer's credit covers (`fromCreditsNano`, spent on the groups in order, provider
 * share first) and what they will owe. Each group's four legs sum to its cost; the
 * provider legs sum to cost − fee and the platform legs to fee.
 */
export function splitGroups(groups: readonly SettlementGroup[], fromCreditsNano: bigint): SettlementLegs[] {
  let credit = fromCreditsNano;
  return groups.map((g) => {
    const providerNano = g.costNano - g.feeNano;
    const fromCredits = credit < g.costNano ? credit : g.costNano;
    credit -= fromCredits;
    const creditsToProviderNano = fromCredits < providerNano ? fromCredits : providerNano;
    const creditsToPlatformNano = fromCredits - creditsToProviderNano;
    return {
      creditsToProviderNano,
      creditsToPlatformNano,
      receivableToProviderNano: providerNano - creditsToProviderNano,
      receivableToPlatformNano: g.feeNano - creditsToPlatformNano,
    };
  });
}

/**
 * How much of `usageNano` the buyer's credit pays when `spendableNano` is what the credit
 * account allows after this batch's voided holds and before its new holds of `newHoldsNano`
 * (which must fit first: they are money already promised to running requests).
 */
export function fromCredits(usageNano: bigint, spendableNano: bigint, newHoldsNano: bigint): bigint {
  const room = spendableNano - newHoldsNano;
  if (room <= 0n) return 0n;
  return room < usageNano ? room : usageNano;
}

/**
 * The id of a settlement window's fee leg for one provider (usage_clearing → platform_revenue):
 * the leg names only the platform's account, so its id says whose fees it carries.
 */
export const windowFeeLegId = (windowId: string, providerOrgId: string) => nameUuid("usage-window-fee", windowId.toLowerCase(), providerOrgId.toLowerCase());
