import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * One NATS connection for a process of the fleet (proxy, settler, web app).
 * NATS being down is a normal state, not an error: the link connects in the
 * background, reconnects forever with a capped exponential backoff, and the
 * caller reads `status` (or waits with `ready()`) instead of catching. Nothing
 * here throws at the caller because the server is unreachable.
 */

export type NatsStatus = "connecting" | "connected" | "reconnecting" | "closed";

export type NatsLink = {
  readonly url: string;
  /** What the link is doing now; `connected` means publishes reach the server. */
  status(): NatsStatus;
  /** The live connection, or null while NATS has never been reached (or the link is closed). */
  connection(): NatsConnection | null;
  /** Resolves with the connection once NATS has been reached; rejects only when the link is closed first. */
  ready(): Promise<NatsConnection>;
  /** Called on every change of status (first connect, disconnect, reconnect, close). */
  onStatus(listener: (status: NatsStatus) => void): () => void;
  close(): Promise<void>;
};

export type NatsLinkOptions = {
  /** Shown in the server's monitoring pages (`connz`). */
  name?: string;
  /** First reconnect delay; it doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (line: string) => void;
};

/** The delay before reconnect attempt `attempt` (0-based): doubling from `min`, capped at `max`, with up to 20% jitter. */
export function backoffMs(attempt: number, min: number, max: number, random = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + 0.2 * random()));
}

/** Strips credentials from a NATS URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

export function openNatsLink(url: string, options: NatsLinkOptions = {}): NatsLink {
  const min = options.minBackoffMs ?? 100;
  const max = options.maxBackoffMs ?? 5_000;
  const log = options.log ?? (() => {});
  const listeners = new Set<(s: NatsStatus) => void>();
  let status: NatsStatus = "connecting";
  let nc: NatsConnection | null = null;
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const waiters: { resolve: (c: NatsConnection) => void; reject: (e: Error) => void }[] = [];

  const set = (next: NatsStatus) => {
    if (next === status) return;
    status = next;
    for (const l of listeners) l(next);
  };

  const watch = async (c: NatsConnection) => {
    for await (const s of c.status()) {
      if (s.type === "disconnect") {
        log(`nats: disconnected from ${redactUrl(url)}, reconnecting`);
        set("reconnecting");
      } else if (s.type === "reconnect") {
        log(`nats: reconnected to ${redactUrl(url)}`);
        set("connected");
      }
    }
  };

  // The client's own reconnect loop handles drops after the first connect
  // (maxReconnectAttempts -1, delays from reconnectDelayHandler); the first
  // connect is retried here so that a server that is not up yet never
  // rejects at the caller.
  const first = async () => {
    while (!closed) {
      try {
        const c = await connect({
          servers: url,
          name: options.name,
          maxReconnectAttempts: -1,
          reconnectDelayHandler: () => backoffMs(attempt++, min, max),
          timeout: 2_000,
        });
        if (closed) {
          await c.close().catch(() => {});
          return;
        }
        nc = c;
        attempt = 0;
        set("connected");
        log(`nats: connected to ${redactUrl(url)}`);
        for (const w of waiters.splice(0)) w.resolve(c);
        void watch(c);
        void c.closed().then(() => {
          if (!closed) log(`nats: connection to ${redactUrl(url)} closed`);
          set("closed");
        });
        return;
      } catch (e) {
        if (attempt === 0) log(`nats: ${redactUrl(url)} unreachable (${(e as Error).message}); retrying in the background`);
        const delay = backoffMs(attempt++, min, max);
        await new Promise<void>((r) => {
          wake = r;
          retryTimer = setTimeout(r, delay);
          retryTimer.unref();
        });
        wake = null;
      }
    }
  };
  void first();

  return {
    url,
    status: () => status,
    connection: () => (closed ? null : nc),
    ready: () => {
      if (closed) return Promise.reject(new Error("NATS link closed"));
      if (nc) return Promise.resolve(nc);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    onStatus: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      wake?.();
      for (const w of waiters.splice(0)) w.reject(new Error("NATS link closed"));
      const c = nc;
      nc = null;
      // Draining a connection that is down would wait for the reconnect.
      if (c) await (status === "connected" ? c.drain() : c.close()).catch(() => c.close().catch(() => {}));
      set("closed");
    },
  };
}
