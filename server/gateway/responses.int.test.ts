import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { getBalance, type LedgerAccount } from "../ledger/service";
import { completionWords } from "../upstream-demo/server";
import { drained } from "./spawn";
import { usdNano } from "./testing";
import { demoMarketPerFile, fundedBuyer } from "../testing/proxy-process";

/**
 * POST /v1/responses end to end: the proxy as its own process, the real backend
 * (tRPC router, settlement, ledger over a fresh database), the demo upstream and
 * the official openai client. Each request is one settled usage event at the
 * cost its answer reported, and the ledger moved exactly that.
 */

const m = demoMarketPerFile();
let account: LedgerAccount;
let secret: string;

const MODEL = "demo-provider/llama-3.1-8b";
const costOf = (r: OpenAI.Responses.Response) => (r.usage as unknown as { cost: string }).cost;

beforeAll(async () => {
  ({ account, secret } = await fundedBuyer(m.backend, 10_000_000_000n, { name: "responses" }, "responses-buyer"));
});

describe("the openai client's Responses API through the proxy process, billed by the real backend", () => {
  it("create, stream and a function-calling round trip: the right text and calls, one settled event each at the reported cost", async () => {
    const client = new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const billed: { id: string; cost: string }[] = [];

    const plain = await client.responses.create({ model: MODEL, instructions: "Answer", input: "Hello" }).withResponse();
    expect(plain.data.output_text).toBe(completionWords("system: Answer\nuser: Hello").join(" "));
    billed.push({ id: plain.response.headers.get("x-request-id")!, cost: costOf(plain.data) });

    const stream = client.responses.stream({ model: MODEL, input: "Stream" });
    const streamed = await stream.finalResponse();
    expect(streamed.output_text).toBe(completionWords("user: Stream").join(" "));
    // The stream's id is the response id: resp_ + the request id without dashes.
    const hex = streamed.id.slice("resp_".length);
    billed.push({ id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`, cost: costOf(streamed) });

    const tools: OpenAI.Responses.FunctionTool[] = [{ type: "function", name: "lookup", parameters: { type: "object", properties: {} }, strict: false }];
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Find it" }];
    const first = await client.responses.create({ model: MODEL, input, tools }).withResponse();
    const call = first.data.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    expect(call).toMatchObject({ name: "lookup", arguments: JSON.stringify({ query: completionWords("user: Find it").slice(0, 3).join(" ") }) });
    billed.push({ id: first.response.headers.get("x-request-id")!, cost: costOf(first.data) });
    const second = await client.responses
      .create({ model: MODEL, tools, input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "found" }] })
      .withResponse();
    expect(second.data.output_text).toBe(completionWords("user: Find it\nassistant: \ntool: found").join(" "));
    billed.push({ id: second.response.headers.get("x-request-id")!, cost: costOf(second.data) });

    await drained(m.proxy);
    let total = 0n;
    for (const { id, cost } of billed) {
      expect(cost).toMatch(/^0\.\d+$/);
      const r = await fetch(`${m.proxy.url}/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${secret}` } });
      expect(r.status).toBe(200);
      const gen = ((await r.json()) as { data: { total_cost: string; settlement: string; model: string } }).data;
      expect(gen).toMatchObject({ total_cost: cost, settlement: "settled", model: MODEL });
      total += usdNano(cost);
    }
    const ids = billed.map((b) => b.id);
    const rows = await m.backend.t.db.execute(
      sql`select id from usage_events where id in (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    );
    expect(rows.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect((await getBalance(m.backend.t.db, { accountId: account.id })).debitsPosted).toBe(total);
  });

  it("bad input is a 400 naming the field, and nothing is reserved or billed", async () => {
    const before = await getBalance(m.backend.t.db, { accountId: account.id });
    const r = await fetch(`${m.proxy.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: "x", store: true }),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: {
        message: expect.stringMatching(/^store: stored responses are not supported/),
        type: "invalid_request_error",
        param: "store",
        code: "unsupported_parameter",
      },
    });
    await drained(m.proxy);
    expect(await getBalance(m.backend.t.db, { accountId: account.id })).toEqual(before);
  });
});
