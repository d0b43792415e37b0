import fs from "node:fs";
import path from "node:path";
import type { UsageEvent } from "../usage/contract";
import { CLOCK_AHEAD_REASON } from "../usage/rules";
import { usageEventJson, type Backend } from "./backend";
import type { Spool } from "./spool";
import type { LogLine } from "../lib/logger";

/**
 * Sends usage events to the backend's usage ingest path in batches, one batch in flight at a
 * time, retrying with exponential backoff while the backend is unreachable.
 * Every event is journalled in the spool first and acknowledged there only
 * when the backend has answered for it, so retries and restarts re-send until
 * it has (the backend settles each id exactly once).
 *
 * A batch the backend answers with a failure of its own (not an outage) is halved
 * until the event behind it is alone; an event that still fails alone
 * LONE_ATTEMPTS times is set aside beside the spool for a person, so it cannot
 * hold the queue behind it forever.
 */

/** Tries an event alone this many times, when the backend fails on it, before setting it aside. */
const LONE_ATTEMPTS = 3;

/** Backend answers that blame the batch itself; anything else (unreachable, 502–504, 401) is an outage to wait out. */
function blamesBatch(err: unknown): string | null {
  const m = /usage\.report answered (\d{3})/.exec(err instanceof Error ? err.message : "");
  return m && ["400", "413", "422", "500"].includes(m[1]!) ? (err as Error).message : null;
}

export type ReporterOptions = {
  spool: Spool;
  batchSize?: number;
  /** Wait at most this long to fill a batch. */
  flushMs?: number;
  maxBackoffMs?: number;
  /** How long an event the backend found to end in its future waits before it is sent again. */
  clockAheadRetryMs?: number;
  log?: LogLine;
};

export class UsageReporter {
  private queue: UsageEvent[] = [];
  /** The queued events' JSON, index for index (what the spool holds and the report sends). */
  private lines: string[] = [];
  private sending: Promise<void> | null = null;
  private sendingCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  /** The batch size while a failing event is being isolated (batchSize otherwise). */
  private limit: number;
  private loneFailures = 0;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxBackoffMs: number;
  /** Counters for /metrics. */
  readonly stats = { reported: 0, duplicate: 0, conflict: 0, rejected: 0, failedBatches: 0, clockAhead: 0 };

  constructor(
    private readonly backend: Pick<Backend, "report">,
    private readonly opts: ReporterOptions,
  ) {
    this.batchSize = opts.batchSize ?? 1000;
    this.flushMs = opts.flushMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.limit = this.batchSize;
  }

  /** Events journalled but not yet acknowledged by the backend (queued or in flight). */
  get pending(): number {
    return this.queue.length + this.sendingCount;
  }

  /** Journals and queues one completed request's usage; `then` runs once it is on disk. */
  record(event: UsageEvent, then?: () => void) {
    const line = usageEventJson(event);
    // Sent only once journalled, so an acknowledgement always finds its spool segment.
    this.opts.spool.append(event.id, line, () => {
      this.queue.push(event);
      this.lines.push(line);
      this.scheduleSend();
      then?.();
    });
  }

  /** Queues events already in the spool (replayed at start). */
  enqueue(events: UsageEvent[]) {
    for (const e of events) {
      this.queue.push(e);
      this.lines.push(usageEventJson(e));
    }
    this.scheduleSend();
  }

  private scheduleSend() {
    if (this.queue.length >= this.batchSize) this.schedule(0);
    else this.schedule(this.flushMs);
  }

  private schedule(ms: number) {
    if (this.sending) return;
    if (this.timer) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, ms);
  }

  private send(): Promise<void> {
    if (this.sending || this.queue.length === 0) return this.sending ?? Promise.resolve();
    const batch = this.queue.splice(0, this.limit);
    const lines = this.lines.splice(0, this.limit);
    this.sendingCount = batch.length;
    this.sending = (async () => {
      try {
        const { results } = await this.backend.report(batch, lines);
        const answered = new Set<string>();
        const clockAhead: number[] = [];
        for (const r of results) {
          answered.add(r.id);
          if (r.status === "rejected" && r.reason === CLOCK_AHEAD_REASON) {
            // Our clock runs ahead of the backend's: the event is valid, just early. Kept and sent again later.
            const i = batch.findIndex((e) => e.id === r.id);
            if (i >= 0) clockAhead.push(i);
            continue;
          }
          if (r.status === "rejected") {
            // Invalid forever: kept beside the spool for a person to look at, never re-sent.
            this.stats.rejected++;
            this.opts.log?.("usage event rejected", { requestId: r.id, reason: r.reason ?? "no reason given" });
            this.setAside(
              batch.find((e) => e.id === r.id),
              r.reason,
            );
          } else if (r.status === "settled") this.stats.reported++;
          else this.stats[r.status]++;
          this.opts.spool.ack(r.id);
        }
        if (clockAhead.length)
          this.sendLater(
            clockAhead.map((i) => batch[i]!),
            clockAhead.map((i) => lines[i]!),
          );
        const unanswered = batch.flatMap((e, i) => (answered.has(e.id) ? [] : [[e, lines[i]!] as const]));
        if (unanswered.length) {
          this.queue.unshift(...unanswered.map(([e]) => e));
          this.lines.unshift(...unanswered.map(([, l]) => l));
        }
        this.failures = 0;
        this.limit = this.batchSize;
        this.loneFailures = 0;
      } catch (err) {
        this.stats.failedBatches++;
        const blame = blamesBatch(err);
        if (blame && batch.length === 1 && ++this.loneFailures >= LONE_ATTEMPTS) {
          this.stats.rejected++;
          this.setAside(batch[0], `the backend failed on this event ${LONE_ATTEMPTS} times: ${blame}`);
          this.opts.spool.ack(batch[0]!.id);
          this.loneFailures = 0;
          this.limit = this.batchSize;
        } else {
          if (blame) this.limit = Math.ceil(batch.length / 2);
          else this.failures++;
          this.queue.unshift(...batch);
          this.lines.unshift(...lines);
        }
        this.opts.log?.("usage report failed", { events: batch.length, attempt: this.failures || this.loneFailures, err });
      } finally {
        this.sending = null;
        this.sendingCount = 0;
      }
      if (this.queue.length) {
        const backoff = this.failures ? Math.min(this.maxBackoffMs, 250 * 2 ** (this.failures - 1)) * (0.75 + Math.random() * 0.5) : 0;
        this.schedule(this.failures ? backoff : this.queue.length >= this.batchSize ? 0 : this.flushMs);
      }
    })();
    return this.sending;
  }

  /** Queues events again after clockAheadRetryMs (still journalled, so a restart resends them too). */
  private sendLater(events: UsageEvent[], lines: string[]) {
    this.stats.clockAhead += events.length;
    setTimeout(() => {
      this.queue.push(...events);
      this.lines.push(...lines);
      this.scheduleSend();
    }, this.opts.clockAheadRetryMs ?? 30_000).unref();
  }

  /** Keeps an event the backend will not settle beside the spool, for a person to look at; never re-sent. */
  private setAside(event: UsageEvent | undefined, reason: string | null) {
    fs.appendFileSync(path.join(this.opts.spool.dir, "rejected.jsonl"), JSON.stringify({ event, reason }) + "\n");
  }

  /** Sends everything queued, retrying until `deadlineMs` passes; resolves with how many remain unsent (they stay spooled). */
  async flush(deadlineMs: number): Promise<number> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.queue.length || this.sending) {
      if (Date.now() > deadlineMs) break;
      if (this.sending) await this.sending;
      else {
        await this.send();
        if (this.failures && this.queue.length) await new Promise((r) => setTimeout(r, Math.min(1000, deadlineMs - Date.now())));
      }
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.queue.length;
  }
}
