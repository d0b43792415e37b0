/**
 * Request body limits for the route handlers. Each reads at most its limit and stops: a
 * client announcing (or streaming) more gets 413 before anything is parsed or verified.
 */
export const BODY_LIMITS = {
  /** usage.report carries up to 5 000 events of ~400 bytes. */
  trpc: 8 * 1024 * 1024,
  /** Stripe's event objects are a few kilobytes; a megabyte leaves room for long invoices. */
  stripeWebhook: 1024 * 1024,
  auth: 64 * 1024,
} as const;

/** The body's bytes, or null when it is longer than `maxBytes` (the rest is not read). */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return null;
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export const tooLarge = (maxBytes: number) => Response.json({ error: `request body is larger than ${maxBytes} bytes` }, { status: 413 });

/**
 * The same request with its body read under `maxBytes`, for handlers that read it
 * themselves (tRPC, Auth.js); null when it is too large. Bodiless requests pass as they are.
 */
export async function limitedRequest(req: Request, maxBytes: number): Promise<Request | null> {
  if (req.method === "GET" || req.method === "HEAD") return req;
  const body = await readBodyLimited(req, maxBytes);
  if (!body) return null;
  return new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
}
