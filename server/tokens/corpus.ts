/**
 * A labelled corpus for the token-count tests (counts.test.ts): plain English, Chinese, code,
 * emoji and tool schemas, with edge cases (special-token names as text, long words, whitespace
 * runs). The expected counts are in corpus-counts.json, computed once with each package's own
 * encoder by `npx tsx scripts/tokens-corpus.ts > server/tokens/corpus-counts.json`.
 */

const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", description: "City name, e.g. Lisbon" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer" },
      },
      required: ["city"],
    },
  },
};

export const CORPUS: { label: string; text: string }[] = [
  { label: "plain: a question", text: "What is the capital of France? Please answer briefly." },
  { label: "plain: prose", text: "The quick brown fox jumps over the lazy dog. Tokenizers split words into pieces, and rare words into more pieces." },
  { label: "plain: long word and numbers", text: "Antidisestablishmentarianism appeared 1234567 times in 2025, or 3.14159% of the time." },
  { label: "plain: whitespace runs", text: "  leading spaces,\ttabs\tand\n\n\nblank lines   \n" },
  { label: "chinese", text: "今天天气很好，我们去公园散步吧。人工智能正在改变世界。" },
  { label: "chinese and english mixed", text: "我喜欢用 TypeScript 写代码 because it has types。" },
  { label: "code: typescript", text: "export function add(a: number, b: number): number {\n  return a + b; // sum\n}\n" },
  { label: "code: python", text: 'def fib(n):\n    """Return the n-th Fibonacci number."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n' },
  { label: "code: json", text: '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}' },
  { label: "emoji", text: "🎉🔥 Launch day! 👍🏽 👨‍👩‍👧‍👦 ❤️ 🇵🇹" },
  { label: "special-token names as text", text: "a <|endoftext|> b <|im_start|> c <|begin_of_text|> d" },
  { label: "accents", text: "Ünïcödé façade naïve café crème brûlée" },
  { label: "tool schema as JSON", text: JSON.stringify(WEATHER_TOOL) },
  {
    label: "tool schema as the model sees it",
    text: 'namespace functions {\n\n// Current weather for a city\ntype get_weather = (_: {\n// City name, e.g. Lisbon\ncity: string,\nunit?: "celsius" | "fahrenheit",\ndays?: number,\n}) => any;\n\n} // namespace functions',
  },
];

export { WEATHER_TOOL };
