import { describe, expect, it } from "vitest";
import { chatPromptTokens } from "../tokens/prompt";
import { countPrompt, promptTokensFor } from "./tokens";

describe("the prompt across candidates", () => {
  const body = { messages: [{ role: "user", content: "今天天气很好，我们去公园散步吧。🎉" }] };
  const o200k = chatPromptTokens("o200k_base", body);
  const llama3 = chatPromptTokens("llama3", body);

  it("holds for the largest count among the candidates' tokenizers, and bills the serving listing's own", () => {
    expect(o200k).not.toBe(llama3);
    const count = countPrompt("chat", body, [{ tokenizer: "o200k_base" }, { tokenizer: "llama3" }]);
    expect(count.tokens).toBe(Math.max(o200k, llama3));
    expect(promptTokensFor(count, "o200k_base")).toBe(o200k);
    expect(promptTokensFor(count, "llama3")).toBe(llama3);
  });

  it("counts once when the candidates share a tokenizer; an unknown name counts as o200k_base", () => {
    const count = countPrompt("chat", body, [{ tokenizer: "llama3" }, { tokenizer: "llama3" }]);
    expect(count).toEqual({ tokens: llama3, by: "llama3" });
    expect(countPrompt("chat", body, [{ tokenizer: "some-future-encoding" }]).tokens).toBe(o200k);
  });

  it("counts completions prompts and embeddings inputs", () => {
    expect(countPrompt("completion", { prompt: "Once upon a time" }, [{ tokenizer: "cl100k_base" }]).tokens).toBe(4);
    expect(countPrompt("embeddings", { input: [[1, 2, 3], "hello"] }, [{ tokenizer: "cl100k_base" }]).tokens).toBe(4);
  });
});
