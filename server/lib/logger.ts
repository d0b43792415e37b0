import path from "node:path";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { logEnv } from "../env";

/**
 * The one logger every process makes (proxy, web app, worker, settler, service API, demo
 * upstream, launcher): JSON lines through pino, each with its `process` name, at LOG_LEVEL;
 * pretty-printed when LOG_FORMAT=pretty (`npm start` sets it); also appended to
 * `LOG_DIR/<process>-<pid>.log` when LOG_DIR is set (the test runs do, and audit those files
 * for secrets). Callers never pass keys, credentials, tokens or prompts: the redaction and
 * scrubbing below are a safety net, not a licence.
 */

export type { Logger };

/**
 * Field paths whose values are replaced before a line is written: each name at the top level and
 * under the objects a careless call would pass (`headers`, `req.headers`, `listing`, `request`).
 * Explicit paths only: pino's wildcard paths cost ~25 µs a line, more than the proxy's own work on a request.
 */
const SECRET_FIELDS = [
  "authorization",
  '["x-api-key"]',
  "apiKey",
  "secret",
  "token",
  "serviceToken",
  "password",
  "credential",
  "upstreamCredential",
  "cookie",
  "messages",
  "prompt",
  "input",
  "body",
];
const PARENTS = ["headers", "req.headers", "listing", "request"];
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...PARENTS.flatMap((parent) => SECRET_FIELDS.map((f) => (f.startsWith("[") ? `${parent}${f}` : `${parent}.${f}`))),
];

/** API key secrets (`tm_` + 43 base62 characters, server/keys/secret.ts) and Stripe secrets, wherever they appear in a text. */
export const SECRET_TEXT = /\btm_[0-9A-Za-z]{43}\b|\b(?:sk|rk)_(?:test|live)_[0-9A-Za-z_]+|\bwhsec_[0-9A-Za-z_]+/g;

/** A text with every key-shaped secret in it replaced (free of cost when none can be there). */
export function scrubSecrets(text: string): string {
  if (!text.includes("tm_") && !text.includes("_test_") && !text.includes("_live_") && !text.includes("whsec_")) return text;
  return text.replace(SECRET_TEXT, "[secret]");
}

/**
 * An error as a line carries it: type, message, stack and code, its cause one level down; a
 * failed query's parameters dropped (drizzle puts them in the message: hashes, ciphertexts,
 * other people's values).
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubSecrets(String(err)) };
  const clean = (s: string | undefined) => (s === undefined ? undefined : scrubSecrets(s.replace(/\nparams: [^\n]*/g, "\nparams: [not logged]")));
  const out: Record<string, unknown> = { type: err.name, message: clean(err.message), stack: clean(err.stack) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (err.cause !== undefined && err.cause !== err) {
    const cause = err.cause;
    out.cause = cause instanceof Error ? { type: cause.name, message: clean(cause.message), code: (cause as { code?: unknown }).code } : clean(String(cause));
  }
  return out;
}

type LogSettings = ReturnType<typeof logEnv>;
/** `fd: 2` for processes whose stdout is a protocol another process reads; `prefixed`: pretty lines carry `[name]` themselves (the launcher's). */
type Output = { fd?: 1 | 2; prefixed?: boolean };

/** JSON lines wait in memory until this many bytes are buffered… */
const LOG_BUFFER_BYTES = 8 * 1024;
/** …or this long, whichever comes first. */
const LOG_FLUSH_MS = 250;

/**
 * Where JSON lines go: gathered into batches of up to LOG_BUFFER_BYTES and written with one
 * synchronous write(2) each (sonic-boom, which retries a full pipe), at the latest LOG_FLUSH_MS
 * after they were logged, and when the process exits: in order, and nothing left in flight at
 * exit. A write(2) per line was a tenth of the proxy's CPU under load; sonic-boom's own buffering
 * measured its growing buffer again on every line (~3 µs); batched here, the proxy's one line per
 * request costs ~0.6 µs over formatting it. A warning or worse goes out at once, with what waits
 * before it: those are few, and whoever watches for one (an operator, a test) should not wait.
 */
function bufferedDestination(fd: number): DestinationStream {
  const dest = pino.destination({ dest: fd, sync: true });
  const lines: string[] = [];
  let size = 0;
  const flush = () => {
    if (lines.length === 0) return;
    const batch = lines.join("");
    lines.length = 0;
    size = 0;
    try {
      dest.write(batch);
    } catch {
      // The descriptor is gone (the reader closed its end): logging must not take the process down.
    }
  };
  setInterval(flush, LOG_FLUSH_MS).unref();
  process.prependListener("exit", flush);
  return {
    write(line: string) {
      lines.push(line);
      size += line.length;
      // pino's JSON lines begin `{"level":NN`: 40 is warn, 50 error, 60 fatal.
      if (size >= LOG_BUFFER_BYTES || line.charCodeAt(9) >= 52 /* 4 */) flush();
    },
  };
}

function streams(name: string, e: LogSettings, opts: Output): DestinationStream {
  const fd = opts.fd ?? 1;
  const main: DestinationStream =
    e.LOG_FORMAT === "pretty"
      ? // One line per entry: the launcher prefixes each of its children's lines with its name, so that field is left out.
        pretty({
          destination: fd,
          sync: true,
          singleLine: true,
          colorize: process.stdout.isTTY,
          ignore: "pid,hostname,process",
          translateTime: "HH:MM:ss.l",
          ...(opts.prefixed && { messageFormat: `[${name}] {msg}` }),
        })
      : bufferedDestination(fd);
  if (!e.LOG_DIR) return main;
  const file = pino.destination({ dest: path.join(e.LOG_DIR, `${name}-${process.pid}.log`), sync: true, mkdir: true });
  // A stream's level below the logger's changes nothing; "silent" is no level multistream knows, so it keeps the console out.
  const consoleLevel = e.LOG_CONSOLE_LEVEL ?? e.LOG_LEVEL;
  return pino.multistream([...(consoleLevel === "silent" ? [] : [{ stream: main, level: consoleLevel }]), { stream: file, level: "trace" as const }]);
}

/** A logger named for its process (its `process` field and log file); `stream` replaces where lines go (tests). */
export function createLogger(name: string, opts: Output & { settings?: LogSettings; stream?: DestinationStream } = {}): Logger {
  const settings = opts.settings ?? logEnv();
  return pino(
    {
      level: settings.LOG_LEVEL,
      base: { process: name, pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: serializeError },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === "string") args[i] = scrubSecrets(args[i] as string);
          return method.apply(this, args);
        },
      },
    },
    opts.stream ?? streams(name, settings, opts),
  );
}

let current: Logger | undefined;

/** Names this process's logger: each process's entry point calls it first (`proxy`, `worker`, `settler`, …). */
export function initProcessLogger(name: string, opts: Output = {}): Logger {
  current = createLogger(name, opts);
  return current;
}

/**
 * The logger of this process, for modules shared by several processes (settlement runs in the
 * web app, the worker and the settler). Without an entry point naming it, it is the web app's:
 * Next.js starts that process, not our code.
 */
export function processLogger(): Logger {
  current ??= createLogger("web");
  return current;
}

/** What the proxy's parts are handed to report trouble: a message and, optionally, fields (`requestId`, `err`, …). */
/**
 * The same logger without the redaction pass, for a hot path's own lines whose fields are all
 * the caller's scalars (ids, counts, statuses), never an object a request or a caller brought:
 * the proxy's one line per request, where the pass over every redacted path cost ~2 µs. Text
 * is still scrubbed (the hook above).
 */
export function unredacted(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

export type LogLine = (msg: string, fields?: Record<string, unknown>) => void;
