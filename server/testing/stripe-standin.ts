import http from "node:http";
import type { AddressInfo } from "node:net";
import { createPayments, type Payments } from "../payments/config";
import { registerSecrets } from "./secrets";

const STANDIN_SECRET_KEY = "sk_test_standin";

/**
 * A stateful stand-in for the parts of api.stripe.com that Connect payouts use, at a local
 * port the Stripe SDK is pointed at: accounts, account links, and transfers with Stripe's
 * idempotency (a repeated Idempotency-Key gets the first answer, nothing new is created).
 * Tests drive the real SDK against it and read what it holds.
 */
type Transfer = {
  id: string;
  object: "transfer";
  amount: number;
  amount_reversed: number;
  currency: string;
  destination: string;
  transfer_group: string | null;
  metadata: Record<string, string>;
  created: number;
  reversed: boolean;
};

export type StripeStandIn = {
  payments: Payments;
  transfers: Transfer[];
  accounts: string[];
  requests: { method: string; path: string; body: URLSearchParams; idempotencyKey: string | undefined }[];
  close: () => Promise<void>;
};

/** Nested form keys (`metadata[payout_id]`) into an object of strings. */
function nested(body: URLSearchParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of body) if (k.startsWith(`${prefix}[`)) out[k.slice(prefix.length + 1, -1)] = v;
  return out;
}

export async function startStripeStandIn(webhookSecret: string): Promise<StripeStandIn> {
  registerSecrets(webhookSecret, STANDIN_SECRET_KEY);
  const state: Omit<StripeStandIn, "payments" | "close"> = { transfers: [], accounts: [], requests: [] };
  const answered = new Map<string, { status: number; json: object }>();
  const now = () => Math.floor(Date.now() / 1000);

  const handle = (method: string, url: URL, body: URLSearchParams): { status: number; json: object } => {
    if (method === "POST" && url.pathname === "/v1/accounts") {
      const id = `acct_test_${state.accounts.length + 1}`;
      state.accounts.push(id);
      return { status: 200, json: { id, object: "account", details_submitted: false, payouts_enabled: false, metadata: nested(body, "metadata") } };
    }
    if (method === "POST" && url.pathname === "/v1/account_links") {
      const account = body.get("account") ?? "";
      if (!state.accounts.includes(account))
        return { status: 400, json: { error: { type: "invalid_request_error", message: `No such account: '${account}'`, param: "account" } } };
      return { status: 200, json: { object: "account_link", url: `https://connect.stripe.test/setup/e/${account}`, created: now(), expires_at: now() + 300 } };
    }
    if (method === "POST" && url.pathname === "/v1/transfers") {
      const destination = body.get("destination") ?? "";
      if (!state.accounts.includes(destination))
        return { status: 400, json: { error: { type: "invalid_request_error", message: `No such destination: '${destination}'`, param: "destination" } } };
      const transfer: Transfer = {
        id: `tr_test_${state.transfers.length + 1}`,
        object: "transfer",
        amount: Number(body.get("amount")),
        amount_reversed: 0,
        currency: body.get("currency") ?? "usd",
        destination,
        transfer_group: body.get("transfer_group"),
        metadata: nested(body, "metadata"),
        created: now(),
        reversed: false,
      };
      state.transfers.push(transfer);
      return { status: 200, json: transfer };
    }
    if (method === "GET" && url.pathname === "/v1/transfers") {
      const group = url.searchParams.get("transfer_group");
      const gte = Number(url.searchParams.get("created[gte]") ?? 0);
      const lt = Number(url.searchParams.get("created[lt]") ?? Number.MAX_SAFE_INTEGER);
      const data = state.transfers.filter((t) => (group === null || t.transfer_group === group) && t.created >= gte && t.created < lt);
      return { status: 200, json: { object: "list", url: "/v1/transfers", has_more: false, data } };
    }
    return { status: 404, json: { error: { type: "invalid_request_error", message: `Unrecognized request URL (${method}: ${url.pathname})` } } };
  };

  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://stand-in");
      const body = new URLSearchParams(raw);
      const key = req.headers["idempotency-key"] as string | undefined;
      state.requests.push({ method: req.method!, path: url.pathname, body, idempotencyKey: key });
      const memo = key && req.method === "POST" ? `${url.pathname} ${key}` : null;
      const answer = (memo && answered.get(memo)) || handle(req.method!, url, body);
      if (memo && answer.status === 200) answered.set(memo, answer);
      res.writeHead(answer.status, { "content-type": "application/json", "request-id": `req_${state.requests.length}` });
      res.end(JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const payments = createPayments({ secretKey: STANDIN_SECRET_KEY, webhookSecret, apiHost: { host: "127.0.0.1", port, protocol: "http" } });
  return Object.assign(state, { payments, close: () => new Promise<void>((r) => server.close(() => r())) });
}
