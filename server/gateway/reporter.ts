import fs from "node:fs";
import path from "node:path";
import type { UsageEvent } from "../usage/contract";
import { usageEventJson, type Backend } from "./backend";
import type { Spool } from "./spool";

/**
 * Sends usage events to `usage.report` in batches, one batch in flight at a
 * time, retrying with exponential backoff while the backend is unreachable.
 * Every event is journalled in the spool first and acknowledged there only
 * when the backend has answered for it, so retries and restarts re-send until
 * it has (the backend settles each id exactly once).
 */

export type ReporterOptions = {
  spool: Spool;
  batchSize?: number;
  /** Wait at most this long to fill a batch. */
  flushMs?: number;
  maxBackoffMs?: number;
  log?: (line: string) => void;
};

export class UsageReporter {
  private queue: UsageEvent[] = [];
  /** The queued events' JSON, index for index (what the spool holds and the report sends). */
  private lines: string[] = [];
  private sending: Promise<void> | null = null;
  private sendingCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxBackoffMs: number;
  /** Counters for /metrics. */
  readonly stats = { reported: 0, duplicate: 0, conflict: 0, rejected: 0, failedBatches: 0 };

  constructor(
    private readonly backend: Backend,
    private readonly opts: ReporterOptions,
  ) {
    this.batchSize = opts.batchSize ?? 1000;
    this.flushMs = opts.flushMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
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
    const batch = this.queue.splice(0, this.batchSize);
    const lines = this.lines.splice(0, this.batchSize);
    this.sendingCount = batch.length;
    this.sending = (async () => {
      try {
        const { results } = await this.backend.report(batch, lines);
        const answered = new Set<string>();
        for (const r of results) {
          answered.add(r.id);
          if (r.status === "rejected") {
            // Invalid forever: kept beside the spool for a person to look at, never re-sent.
            this.stats.rejected++;
            this.opts.log?.(`usage event ${r.id} rejected: ${r.reason ?? "no reason given"}`);
            const event = batch.find((e) => e.id === r.id);
            fs.appendFileSync(path.join(this.opts.spool.dir, "rejected.jsonl"), JSON.stringify({ event, reason: r.reason }) + "\n");
          } else if (r.status === "settled") this.stats.reported++;
          else this.stats[r.status]++;
          this.opts.spool.ack(r.id);
        }
        const unanswered = batch.flatMap((e, i) => (answered.has(e.id) ? [] : [[e, lines[i]!] as const]));
        if (unanswered.length) {
          this.queue.unshift(...unanswered.map(([e]) => e));
          this.lines.unshift(...unanswered.map(([, l]) => l));
        }
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.stats.failedBatches++;
        this.queue.unshift(...batch);
        this.lines.unshift(...lines);
        this.opts.log?.(`usage report failed (${batch.length} events kept, attempt ${this.failures}): ${(err as Error).message}`);
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
