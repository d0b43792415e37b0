import { env } from "../env";
import { BROADCAST_MAX_IDS, BROADCAST_SUBJECTS } from "./broadcast-contract";
import { openNatsLink, type NatsLink } from "./nats";

/**
 * The backend's side of the broadcasts (./broadcast-contract.ts): services call
 * these after their transaction has committed, so a proxy that refetches on the
 * message reads the change. Publishing never blocks or fails the mutation: without
 * NATS_URL it does nothing; while NATS is unreachable the message is dropped (or
 * sent once the link connects, within a few seconds) and the proxies' polling
 * picks the change up within its interval.
 */

/** How long a broadcast made before the link's first connection waits for it. */
const FIRST_CONNECT_WAIT_MS = 2_000;

let link: NatsLink | null | undefined;

function currentLink(): NatsLink | null {
  if (link === undefined) {
    const url = env().NATS_URL;
    link = url ? openNatsLink(url, { name: "backend broadcasts", log: (line) => console.log(line) }) : null;
  }
  return link;
}

/** Broadcasts through the NATS server at `url` from now on (tests and processes that know their server); closes the previous link. */
export async function useBroadcastLink(url: string | null): Promise<void> {
  const old = link;
  link = url ? openNatsLink(url, { name: "backend broadcasts" }) : null;
  if (url) await link!.ready();
  await old?.close();
}

function publish(subject: string, field: "keyIds" | "listingIds", ids: string[]) {
  const l = currentLink();
  if (!l || ids.length === 0) return;
  const at = Date.now();
  const send = () => {
    const nc = l.connection();
    if (!nc) return;
    try {
      for (let i = 0; i < ids.length; i += BROADCAST_MAX_IDS) nc.publish(subject, JSON.stringify({ [field]: ids.slice(i, i + BROADCAST_MAX_IDS), at }));
    } catch (err) {
      console.log(`broadcast on ${subject} dropped (${(err as Error).message}); proxies poll for it`);
    }
  };
  if (l.connection()) return send();
  // Not connected yet (the process just started): send once it is, or give up and leave it to polling.
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<void>((r) => {
    timer = setTimeout(r, FIRST_CONNECT_WAIT_MS);
    timer.unref();
  });
  void Promise.race([l.ready(), giveUp])
    .then(send, () => {})
    .finally(() => clearTimeout(timer));
}

/** Tells every proxy that these keys changed (revoked, rotated, limits edited). */
export function broadcastKeysChanged(keyIds: string[]): void {
  publish(BROADCAST_SUBJECTS.keys, "keyIds", keyIds);
}

/** Tells every proxy that these listings changed (status, upstream, prices). */
export function broadcastCatalogChanged(listingIds: string[]): void {
  publish(BROADCAST_SUBJECTS.catalog, "listingIds", listingIds);
}
