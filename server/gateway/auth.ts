import type http from "node:http";
import type { ActiveKey } from "./backend";
import { apiKey } from "./http";
import type { CachedKey } from "./key-cache";
import { apiError, unavailable, type ApiError } from "./openai-errors";
import type { GatewayState } from "./state";

/** 401s for what `keys.resolve` said, or the active key. */
export function checkKey(cached: CachedKey): ActiveKey | ApiError {
  const r = cached.resolution;
  if (r.status === "active") return r;
  if (r.status === "revoked") return apiError("UNAUTHENTICATED", "key_revoked", "This API key has been revoked");
  if (r.status === "expired") return apiError("UNAUTHENTICATED", "key_expired", "This API key has expired");
  return apiError("UNAUTHENTICATED", "invalid_api_key", "Incorrect API key provided");
}

type Authenticated = { key: ActiveKey; cached: CachedKey };

function activeKey(cached: CachedKey): Authenticated | ApiError {
  const key = checkKey(cached);
  return "keyId" in key ? { key, cached } : key;
}

async function resolveKey(state: GatewayState, secret: string): Promise<Authenticated | ApiError> {
  try {
    return activeKey(await state.keys.resolve(secret));
  } catch (err) {
    state.log("key resolution failed", { err });
    return unavailable("backend_unavailable", "The API key could not be checked right now; try again shortly");
  }
}

/**
 * Authenticates a request: the active key and its cache entry, or the error to send.
 * Synchronous when the key is cached (every request but a key's first): no promise to wait a turn for.
 */
export function authenticate(state: GatewayState, req: http.IncomingMessage): Authenticated | ApiError | Promise<Authenticated | ApiError> {
  const secret = apiKey(req);
  if (!secret) {
    return apiError("UNAUTHENTICATED", "missing_api_key", "You didn't provide an API key. Send it as `Authorization: Bearer <key>` or `x-api-key: <key>`.");
  }
  const cached = state.keys.peek(secret);
  return cached ? activeKey(cached) : resolveKey(state, secret);
}
