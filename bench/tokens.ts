// `npm run bench:tokens`: what counting a prompt costs the proxy per request, with each tokenizer,
// for a short chat message and a ~4k-token prompt, beside the hand-written estimator it replaced
// (#22; reproduced below as the baseline). Every run counts a text not seen before (the content
// cache of server/tokens/encoders.ts would otherwise answer), then the same long text again (a
// resent history or system prompt, answered from that cache). Prints µs per request; smoke only.
import { chatPromptTokens } from "../server/tokens/prompt";
import { warm } from "../server/tokens/encoders";
import type { Tokenizer } from "../server/tokens/rules";

/** The estimator before #22: a word per token, plus one per 8 letters past 8; symbols one each; ≥ chars/4. */
function baseline(text: string): number {
  let tokens = 0;
  let run = 0;
  let nonAscii = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128) nonAscii++;
    const word = (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 128;
    if (word) {
      run++;
      continue;
    }
    if (run) tokens += 1 + Math.floor((run - 1) / 8);
    run = 0;
    if (code !== 32 && code !== 9 && code !== 10 && code !== 13) tokens++;
  }
  if (run) tokens += 1 + Math.floor((run - 1) / 8);
  return Math.max(tokens, Math.ceil(text.length / 4), nonAscii);
}
const baselineChat = (messages: { role: string; content: string }[]) => messages.reduce((n, m) => n + 4 + baseline(m.content), 0);

/** Varied English-like prose (a fixed pseudo-random walk over a vocabulary), so BPE merges are not one repeated phrase. */
function prose(words: number, seed: number): string {
  const vocab = (
    "the a of to and in is that for it as with was on be by this are or from at an which have not but they his her their " +
    "token market price energy model answer quickly careful light heat cost each small large fast slow green blue data graph " +
    "value signal clear bright calm stream batch cache ledger provider request response usage settlement reservation credit " +
    'international organisation infrastructure measurement throughput latency 2025 3.14 (see above), [note]; "quoted" text:'
  ).split(" ");
  let x = seed * 2654435761;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(vocab[x % vocab.length]!);
    if (x % 17 === 0) out.push("\n");
  }
  return out.join(" ");
}

const SHORT = "Say something short about tokens.";
const LONG = prose(3300, 1);
const ROUNDS = { short: 20_000, long: 100 };

function perCall(fn: (i: number) => unknown, n: number): number {
  for (let i = 0; i < Math.min(n, 50); i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / 1000 / n;
}

const chat = (content: string) => ({ messages: [{ role: "user", content }] });
const rows: [string, string, string, string, string][] = [];
const fmt = (us: number) => us.toFixed(us < 10 ? 2 : 1);
const longTokens = (t: Tokenizer) => chatPromptTokens(t, chat(LONG));

rows.push([
  "baseline (hand-written estimator)",
  String(baselineChat([{ role: "user", content: LONG }])),
  fmt(perCall((i) => baselineChat([{ role: "user", content: `${SHORT} ${i}` }]), ROUNDS.short)),
  fmt(perCall((i) => baselineChat([{ role: "user", content: `${i} ${LONG}` }]), ROUNDS.long)),
  "–",
]);
for (const t of ["o200k_base", "cl100k_base", "llama3"] as const) {
  const loading = performance.now();
  warm([t]);
  const loadMs = performance.now() - loading;
  rows.push([
    `${t} (vocabulary loaded in ${loadMs.toFixed(0)} ms)`,
    String(longTokens(t)),
    fmt(perCall((i) => chatPromptTokens(t, chat(`${SHORT} ${i}`)), ROUNDS.short)),
    fmt(perCall((i) => chatPromptTokens(t, chat(`${i} ${LONG}`)), ROUNDS.long)),
    fmt(perCall(() => chatPromptTokens(t, chat(LONG)), ROUNDS.short)),
  ]);
}

console.log(`Prompt counting per request (µs), Node ${process.version}; long prompt = ${LONG.length} characters.\n`);
console.log("| counter | long prompt tokens | short chat message | ~4k-token prompt, new text | same ~4k-token prompt again (cached) |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
