"use client";
import { useState } from "react";

/** Copy-paste snippets for calling a listing through the proxy with any OpenAI client. */
export function CodeExamples({ baseUrl, model, embeddings }: { baseUrl: string; model: string; embeddings: boolean }) {
  const examples = embeddings
    ? {
        curl: `curl ${baseUrl}/embeddings \\
  -H "Authorization: Bearer $TOKENMARKET_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "input": "The quick brown fox"}'`,
        "OpenAI JS": `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${baseUrl}", apiKey: process.env.TOKENMARKET_API_KEY });
const res = await client.embeddings.create({ model: "${model}", input: "The quick brown fox" });
console.log(res.data[0].embedding.length);`,
        Python: `import os
from openai import OpenAI

client = OpenAI(base_url="${baseUrl}", api_key=os.environ["TOKENMARKET_API_KEY"])
res = client.embeddings.create(model="${model}", input="The quick brown fox")
print(len(res.data[0].embedding))`,
      }
    : {
        curl: `curl ${baseUrl}/chat/completions \\
  -H "Authorization: Bearer $TOKENMARKET_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
        "OpenAI JS": `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${baseUrl}", apiKey: process.env.TOKENMARKET_API_KEY });
const res = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello!" }],
});
console.log(res.choices[0].message.content);`,
        Python: `import os
from openai import OpenAI

client = OpenAI(base_url="${baseUrl}", api_key=os.environ["TOKENMARKET_API_KEY"])
res = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(res.choices[0].message.content)`,
      };
  const tabs = Object.keys(examples) as (keyof typeof examples)[];
  const [tab, setTab] = useState<keyof typeof examples>("curl");
  const [copied, setCopied] = useState(false);
  return (
    <div className="overflow-hidden rounded-lg border border-slate-200">
      <div className="flex items-center gap-1 border-b border-slate-200 bg-slate-50 px-2 py-1.5">
        {tabs.map((t) => (
          <button
            key={t}
            type="button"
            onClick={() => setTab(t)}
            className={`rounded px-2 py-1 text-sm ${t === tab ? "bg-white font-medium shadow-sm" : "text-slate-600 hover:text-slate-900"}`}
          >
            {t}
          </button>
        ))}
        <button
          type="button"
          className="ml-auto text-xs text-indigo-700 hover:underline"
          onClick={() => {
            void navigator.clipboard?.writeText(examples[tab]).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            });
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <pre className="overflow-x-auto bg-slate-900 p-4 text-xs leading-relaxed text-slate-100" data-testid="code-example">
        <code>{examples[tab]}</code>
      </pre>
    </div>
  );
}
