import { z } from "zod";

/**
 * What the backend broadcasts to every proxy on NATS (core subjects, no stream):
 * ids of keys and listings that changed, never a secret, a limit or a price. A
 * broadcast is only a hint to ask the backend again: a proxy that receives one
 * forgets the named keys (and re-resolves them on their next use) or reloads the
 * routing table, so a forged or stale message can cost a refetch, never grant
 * anything. A lost one costs nothing either: the proxies' polling still runs.
 */

export const BROADCAST_SUBJECTS = {
  /** A key was revoked, rotated or had its limits changed. */
  keys: "tm.broadcast.keys",
  /** A listing was paused, published or edited, or a price version added or withdrawn. */
  catalog: "tm.broadcast.catalog",
} as const;

/** Most ids one message names; a larger change is sent in several. */
export const BROADCAST_MAX_IDS = 1_000;

const ids = z.array(z.uuid()).min(1).max(BROADCAST_MAX_IDS);
/** When the backend committed the change (epoch ms): proxies report how long it took to reach them. */
const at = z.number().int().nonnegative();

export const keysChanged = z.strictObject({ keyIds: ids, at });
export const catalogChanged = z.strictObject({ listingIds: ids, at });

export type KeysChanged = z.infer<typeof keysChanged>;
export type CatalogChanged = z.infer<typeof catalogChanged>;
