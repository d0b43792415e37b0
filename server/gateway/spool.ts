import fs from "node:fs";
import path from "node:path";
import type { UsageEvent } from "../usage/contract";

/**
 * The proxy's usage spool: an append-only journal of usage events on local
 * disk, so a crash loses nothing that completed. Every event is written
 * (write(2)) before its response ends: `append` queues the line and its
 * response's ending, and once per event-loop turn all queued lines go out in
 * one write, then those responses end. A killed process thus leaves every
 * answered request's event in the page cache; the file is fsync'd on a short
 * timer, so a machine crash loses at most that window. Events live in segment files
 * (`<seq>.jsonl`); a segment is deleted once the backend has acknowledged every
 * event in it. At start the remaining segments are replayed: the backend's
 * report is idempotent, so an event acknowledged just before a crash is
 * reported again harmlessly (it comes back "duplicate").
 *
 * Bounded: past `maxBytes` of unacknowledged events `full` is true and the
 * proxy refuses new requests instead of serving usage it could not record.
 */

type Segment = { seq: number; file: string; bytes: number; outstanding: number; closed: boolean };

export type SpoolOptions = {
  dir: string;
  maxBytes: number;
  /** Start a new segment past this size. */
  segmentBytes?: number;
  /** fsync the open segment at most this often when it has new data. */
  fsyncMs?: number;
  log?: (line: string) => void;
};

const SEGMENT_RE = /^(\d{16})\.jsonl$/;

function reviveEvent(line: string): UsageEvent | null {
  try {
    const e = JSON.parse(line) as UsageEvent & { startedAt: string; endedAt: string; firstTokenAt: string | null };
    if (typeof e.id !== "string") return null;
    return { ...e, startedAt: new Date(e.startedAt), endedAt: new Date(e.endedAt), firstTokenAt: e.firstTokenAt ? new Date(e.firstTokenAt) : null };
  } catch {
    return null;
  }
}

export class Spool {
  private readonly segments = new Map<number, Segment>();
  private readonly segmentOf = new Map<string, Segment>();
  private current!: Segment;
  private fd = -1;
  private dirty = false;
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly segmentBytes: number;
  /** Bytes of segments still holding unacknowledged events (what the bound applies to). */
  bytes = 0;

  private constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? 4 * 1024 * 1024;
  }

  /** Opens the spool and returns the events left unacknowledged by the previous process, oldest first. */
  static open(opts: SpoolOptions): { spool: Spool; replay: UsageEvent[] } {
    fs.mkdirSync(opts.dir, { recursive: true });
    const spool = new Spool(opts);
    const replay: UsageEvent[] = [];
    const seen = new Set<string>();
    const files = fs
      .readdirSync(opts.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of files) {
      const file = path.join(opts.dir, `${String(seq).padStart(16, "0")}.jsonl`);
      const seg: Segment = { seq, file, bytes: 0, outstanding: 0, closed: true };
      // A line cut short by a crash mid-write is not an event that completed; it is skipped.
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line) continue;
        const e = reviveEvent(line);
        if (!e || seen.has(e.id)) continue;
        seen.add(e.id);
        replay.push(e);
        seg.outstanding++;
        seg.bytes += Buffer.byteLength(line) + 1;
        spool.segmentOf.set(e.id, seg);
      }
      if (seg.outstanding === 0) fs.rmSync(file, { force: true });
      else {
        spool.segments.set(seq, seg);
        spool.bytes += seg.bytes;
      }
    }
    spool.openSegment((files.at(-1) ?? 0) + 1);
    spool.timer = setInterval(() => spool.sync(), opts.fsyncMs ?? 50);
    spool.timer.unref();
    return { spool, replay };
  }

  private openSegment(seq: number) {
    const file = path.join(this.opts.dir, `${String(seq).padStart(16, "0")}.jsonl`);
    this.fd = fs.openSync(file, "a");
    this.current = { seq, file, bytes: 0, outstanding: 0, closed: false };
    this.segments.set(seq, this.current);
  }

  get dir(): string {
    return this.opts.dir;
  }

  get full(): boolean {
    return this.bytes >= this.opts.maxBytes;
  }

  /**
   * Journals one event (its JSON `line`); `then` runs once it is written (the
   * caller ends its response there, never before). Writes are batched per event-loop turn.
   */
  append(id: string, line: string, then?: () => void) {
    this.lines.push(line);
    this.ids.push(id);
    if (then) this.waiting.push(then);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private readonly lines: string[] = [];
  private readonly ids: string[] = [];
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  /** Writes every queued event now, then runs their callbacks. */
  flush() {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.join("\n") + "\n";
    const n = Buffer.byteLength(text);
    fs.writeSync(this.fd, text);
    this.dirty = true;
    const seg = this.current;
    seg.bytes += n;
    seg.outstanding += this.ids.length;
    this.bytes += n;
    for (const id of this.ids) this.segmentOf.set(id, seg);
    this.lines.length = 0;
    this.ids.length = 0;
    const waiting = this.waiting.splice(0);
    if (seg.bytes >= this.segmentBytes) this.rotate();
    for (const then of waiting) then();
  }

  private rotate() {
    // A segment whose events are all acknowledged needs no flush: it is about to be deleted.
    if (this.current.outstanding > 0) fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.dirty = false;
    this.current.closed = true;
    const done = this.current;
    this.openSegment(done.seq + 1);
    this.dropIfDone(done);
  }

  /** The backend has the event: once a closed segment has no unacknowledged events left, it is deleted. */
  ack(id: string) {
    const seg = this.segmentOf.get(id);
    if (!seg) return;
    this.segmentOf.delete(id);
    seg.outstanding--;
    // Everything written so far is acknowledged: start a fresh segment so this one can go.
    if (seg === this.current && seg.outstanding === 0) this.rotate();
    else this.dropIfDone(seg);
  }

  private dropIfDone(seg: Segment) {
    if (seg.outstanding > 0 || !seg.closed) return;
    this.segments.delete(seg.seq);
    this.bytes -= seg.bytes;
    fs.rmSync(seg.file, { force: true });
  }

  private sync() {
    if (!this.dirty || this.syncing) return;
    this.dirty = false;
    this.syncing = true;
    const fd = this.fd;
    fs.fsync(fd, (err) => {
      this.syncing = false;
      if (err && fd === this.fd) this.opts.log?.(`spool fsync failed: ${err.message}`);
    });
  }

  /** Flushes to disk and closes; an empty final segment is removed. */
  close() {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.current.closed = true;
    this.dropIfDone(this.current);
  }
}
