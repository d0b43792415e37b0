// Prints the reference token counts of server/tokens/corpus.ts as JSON, each from the
// package's own encoder on the raw text: gpt-tokenizer's `encode` (special-token names read as
// text, as OpenAI's API reads user text) and llama3-tokenizer-js's `encode` without BOS/EOS.
// `npx tsx scripts/tokens-corpus.ts > server/tokens/corpus-counts.json`; counts.test.ts checks them.
import { encode as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { encode as p50k } from "gpt-tokenizer/encoding/p50k_base";
import { encode as r50k } from "gpt-tokenizer/encoding/r50k_base";
import llama3 from "llama3-tokenizer-js";
import { CORPUS } from "../server/tokens/corpus";

const asText = { disallowedSpecial: new Set<string>() };
const counts = Object.fromEntries(
  CORPUS.map(({ label, text }) => [
    label,
    {
      o200k_base: o200k(text, asText).length,
      cl100k_base: cl100k(text, asText).length,
      p50k_base: p50k(text, asText).length,
      r50k_base: r50k(text, asText).length,
      llama3: llama3.encode(text, { bos: false, eos: false }).length,
    },
  ]),
);
console.log(JSON.stringify(counts, null, 2));
