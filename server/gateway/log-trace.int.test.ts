import fs from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { keyPepper } from "../env";
import { createKey } from "../keys/service";
import { parseUsd } from "../ledger/money";
import { ensureAccount } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { makeOrg, makeUser } from "../testing/fixtures";
import { registerSecrets } from "../testing/secrets";
import { drained } from "./spawn";
import { demoMarketPerFile } from "../testing/proxy-process";

/**
 * Issue 22's acceptance 4a: one request id followed through the logs, from the proxy's line for
 * the request to the backend's line for the batch that took its usage event, to the settler's line
 * for the window that settled that batch, and on into the ledger: the transfers that line names
 * carry the window as their reference. The proxy is its own process and the backend the real one;
 * both write their lines to the run's LOG_DIR, which is where this test reads them.
 */

type Line = Record<string, unknown> & { msg: string; process: string };

const m = demoMarketPerFile({ stopSignal: "SIGKILL" });

function linesOf(name: string, pid: number): Line[] {
  const file = path.join(process.env.LOG_DIR!, `${name}-${pid}.log`);
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

describe("a request id through the logs", () => {
  it("leads from the proxy's line to the batch, the settled window and its ledger transfers", async () => {
    const db = m.backend.t.db;
    const owner = await makeUser(db, "tracer");
    const org = await makeOrg(db, owner);
    const credits = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
    const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
    await topUp(db, credits, clearing, 5_000_000_000n);
    const key = await createKey(db, { name: "trace", pepper: keyPepper(), orgId: org.id, userId: owner.id });
    registerSecrets(key.secret);

    const client = new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: "a private prompt to trace" }] })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    const costNano = parseUsd((data.usage as unknown as { cost: string }).cost, "usage.cost");
    await drained(m.proxy);

    // The proxy's line for the request: its id, what it billed.
    const proxyLines = linesOf("proxy", m.proxy.child.pid!);
    const billed = proxyLines.filter((l) => l.msg === "request billed" && l.requestId === requestId);
    expect(billed).toEqual([expect.objectContaining({ process: "proxy", listing: "demo-provider/llama-3.1-8b", keyId: key.id, costNano: String(costNano) })]);

    // The backend's line for the batch that took the event (the event's id is the request id).
    const backendLines = linesOf("web", process.pid);
    const batches = backendLines.filter((l) => l.msg === "usage batch accepted" && (l.eventIds as string[]).includes(requestId));
    expect(batches).toHaveLength(1);
    const batchSeq = batches[0]!.batchSeq as number;

    // The settler's line for the window that settled that batch, naming its transfers.
    const windows = backendLines.filter((l) => l.msg === "usage window settled" && (l.batchSeqs as number[]).includes(batchSeq));
    expect(windows).toHaveLength(1);
    const { windowId, transferIds } = windows[0] as unknown as { windowId: string; transferIds: string[] };
    expect(transferIds.length).toBeGreaterThan(0);

    // The ledger agrees with every step: the event is in that batch, the batch settled by that window,
    // and the transfers the line names are in the ledger with the window as their reference.
    const { rows: event } = await db.execute<{ batch_seq: string; cost_nano: bigint; window_id: string | null; settled: boolean }>(sql`
      select e.batch_seq::text, e.cost_nano, b.window_id::text, b.settled_at is not null as settled
      from usage_events e join usage_batches b on b.seq = e.batch_seq where e.id = ${requestId}`);
    expect(event).toEqual([{ batch_seq: String(batchSeq), cost_nano: costNano, window_id: windowId, settled: true }]);
    const { rows: transfers } = await db.execute<{ id: string; ref_kind: string | null; ref_id: string | null; debit: string }>(sql`
      select t.id::text, t.ref_kind, t.ref_id, t.debit_account_id::text as debit from ledger_transfers t
      where t.id = any(${`{${transferIds.join(",")}}`}::uuid[])`);
    expect(transfers.map((t) => t.id).sort()).toEqual([...transferIds].sort());
    const usageLegs = transfers.filter((t) => t.ref_kind === "usage_window");
    expect(usageLegs.every((t) => t.ref_id === windowId)).toBe(true);
    // The buyer's credits paid for this window through one of them.
    expect(usageLegs.some((t) => t.debit === credits.id)).toBe(true);

    // Nothing of the prompt, the key or the service token in any of these lines.
    const text = JSON.stringify([...proxyLines, ...backendLines]);
    for (const secret of ["a private prompt to trace", key.secret, m.backend.serviceToken]) expect(text).not.toContain(secret);
  });
});
